"""WCAG contrast of what a Tk window really draws: for the client's and the panel's tests.

``drawn_pairs(root)`` walks every widget under a Tk root (its toplevels
included) and reads the colours Tk will paint with, from the widgets
themselves: a ttk widget's style through ``ttk.Style.lookup`` (in each state a
user meets: normal, hover, pressed, focus, selected), a classic Tk widget's
options through ``cget``, each ``tk.Text`` tag through ``tag_cget`` combined the
way Tk stacks tags (a higher tag's colour wins), and each ``ttk.Treeview`` tag
over the list's field. Nothing comes from a table written by hand, so a
colour changed in the code or by the theme is measured as drawn.

``contrast_ratio`` is WCAG 2.x's: (L1 + 0.05) / (L2 + 0.05) of the relative
luminances; AA asks 4.5:1 for body text.
"""

from __future__ import annotations

import tkinter as tk
from dataclasses import dataclass
from tkinter import ttk

AA_BODY_TEXT = 4.5
"""WCAG 2.x level AA for body text."""

TEXT_WIDGETS = {
    "TLabel",
    "TButton",
    "TCheckbutton",
    "TRadiobutton",
    "TMenubutton",
    "TEntry",
    "TCombobox",
    "TSpinbox",
    "Treeview",
    "TNotebook",
    "TLabelframe",
}
"""The ttk classes that draw text."""
FIELD_WIDGETS = {"TEntry", "TCombobox", "TSpinbox", "Treeview"}
"""Those whose text sits on a field (``fieldbackground``), not on ``background``."""
STATES = {
    "TButton": [(), ("hover",), ("pressed",), ("focus",)],
    "TCheckbutton": [(), ("hover",), ("selected",)],
    "TRadiobutton": [(), ("hover",), ("selected",)],
    "TMenubutton": [(), ("hover",)],
    "Treeview": [(), ("selected",)],
    "TEntry": [(), ("focus",)],
    "TCombobox": [(), ("focus",), ("readonly",)],
}
"""The states a user sees each class in (disabled controls are exempt from WCAG)."""


@dataclass(frozen=True)
class Pair:
    """One text colour over one background, where it is drawn, and its contrast."""

    where: str
    foreground: str
    background: str
    ratio: float

    def __str__(self) -> str:
        return f"{self.where}: {self.foreground} on {self.background} = {self.ratio:.2f}:1"


def _luminance(widget: tk.Misc, colour: str) -> float:
    def linear(channel: int) -> float:
        value = channel / 65535
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (linear(c) for c in widget.winfo_rgb(colour))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(widget: tk.Misc, foreground: str, background: str) -> float:
    """WCAG contrast of two Tk colours (any form Tk accepts), from 1 to 21."""
    first, second = _luminance(widget, foreground), _luminance(widget, background)
    lighter, darker = max(first, second), min(first, second)
    return (lighter + 0.05) / (darker + 0.05)


def _all_widgets(root: tk.Misc) -> list[tk.Misc]:
    found: list[tk.Misc] = []
    pending = [root]
    while pending:
        widget = pending.pop()
        found.append(widget)
        pending.extend(widget.winfo_children())
    return found


def _background_of(widget: tk.Misc, style: ttk.Style) -> str:
    """What shows behind a widget without a background of its own: its parent's."""
    parent = widget.master
    while parent is not None:
        try:
            own = str(parent.cget("background"))
        except tk.TclError:
            parent_style = _style_name(parent)
            own = str(style.lookup(parent_style, "background"))
        if own:
            return own
        parent = parent.master
    return "white"


def _style_name(widget: tk.Misc) -> str:
    try:
        return str(widget.cget("style")) or widget.winfo_class()
    except tk.TclError:
        return widget.winfo_class()


def _ttk_pairs(widget: tk.Misc, style: ttk.Style) -> list[tuple[str, str, str]]:
    klass = widget.winfo_class()
    name = _style_name(widget)
    pairs = []
    for state in STATES.get(klass, [()]):
        foreground = str(style.lookup(name, "foreground", state))
        option = "fieldbackground" if klass in FIELD_WIDGETS else "background"
        if klass == "Treeview" and "selected" in state:
            option = "background"  # a selected row is painted with the style's background
        background = str(style.lookup(name, option, state)) or str(
            style.lookup(name, "background", state)
        )
        if not background:
            background = _background_of(widget, style)
        if foreground:
            label = f"{widget} [{name}{' ' + ' '.join(state) if state else ''}]"
            pairs.append((label, foreground, background))
    if klass == "Treeview":
        tree = widget
        assert isinstance(tree, ttk.Treeview)
        field = str(style.lookup(name, "fieldbackground")) or str(style.lookup(name, "background"))
        tags = {tag for item in _tree_items(tree) for tag in tree.item(item, "tags") or ()}
        for tag in sorted(tags):
            foreground = str(tree.tag_configure(tag, "foreground") or "")
            background = str(tree.tag_configure(tag, "background") or "") or field
            if foreground:
                pairs.append((f"{widget} [tag {tag}]", foreground, background))
    return pairs


def _tree_items(tree: ttk.Treeview, parent: str = "") -> list[str]:
    items = []
    for item in tree.get_children(parent):
        items.append(item)
        items.extend(_tree_items(tree, item))
    return items


def _text_pairs(text: tk.Text) -> list[tuple[str, str, str]]:
    """Every tag alone over the box, and every stack of tags the box shows now."""
    base_foreground, base_background = str(text.cget("foreground")), str(text.cget("background"))
    order = list(text.tag_names())  # lowest priority first
    stacks: set[tuple[str, ...]] = {(tag,) for tag in order if tag != "sel"}
    index = "1.0"
    while text.compare(index, "<", "end"):
        stacks.add(tuple(tag for tag in text.tag_names(index) if tag != "sel"))
        index = text.index(f"{index} +1c")
    pairs = [(f"{text} [text]", base_foreground, base_background)]
    selection = (str(text.cget("selectforeground")), str(text.cget("selectbackground")))
    if all(selection):
        pairs.append((f"{text} [selection]", *selection))
    for stack in sorted(stacks):
        foreground, background = base_foreground, base_background
        for tag in sorted(stack, key=order.index):
            foreground = str(text.tag_cget(tag, "foreground")) or foreground
            background = str(text.tag_cget(tag, "background")) or background
        pairs.append((f"{text} [tags {' '.join(stack) or '-'}]", foreground, background))
    return pairs


def _tk_pairs(widget: tk.Misc) -> list[tuple[str, str, str]]:
    pairs = []
    for foreground_option, background_option in (
        ("foreground", "background"),
        ("selectforeground", "selectbackground"),
    ):
        try:
            foreground = str(widget.cget(foreground_option))
            background = str(widget.cget(background_option))
        except tk.TclError:
            continue
        if foreground and background:
            pairs.append((f"{widget} [{foreground_option}]", foreground, background))
    return pairs


def drawn_pairs(root: tk.Misc) -> list[Pair]:
    """Every text colour over its background under ``root``, as the widgets will paint it."""
    style = ttk.Style(root)
    found: list[tuple[str, str, str]] = []
    for widget in _all_widgets(root):
        klass = widget.winfo_class()
        if isinstance(widget, tk.Text):
            found += _text_pairs(widget)
        elif klass in TEXT_WIDGETS:
            found += _ttk_pairs(widget, style)
        elif klass in ("Label", "Button", "Listbox", "Entry", "Checkbutton", "Message"):
            found += _tk_pairs(widget)
    return [
        Pair(where, foreground, background, contrast_ratio(root, foreground, background))
        for where, foreground, background in found
    ]


def poor_contrast(root: tk.Misc, minimum: float = AA_BODY_TEXT) -> list[Pair]:
    """The pairs under ``root`` below ``minimum`` (WCAG AA body text by default)."""
    return [pair for pair in drawn_pairs(root) if pair.ratio < minimum]
