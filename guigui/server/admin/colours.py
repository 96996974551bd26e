"""The panel's colours retouched where a ttkbootstrap theme is too pale to read (WCAG AA).

ttkbootstrap's light and dark themes draw white text on buttons whose colour is
too light for it (3.3:1 for the dark theme's blue, where reading text needs
4.5:1), and the dark theme's red text on its background reaches only 4.4:1.
``make_readable`` gives each style the panel uses a darker shade of the same
colour (Bootstrap's own ``-700`` steps); ``tests/server/admin/test_panel_contrast.py``
measures every text the panel draws against its background, in both themes.
"""

from __future__ import annotations

import ttkbootstrap as ttk

SOLID = {
    "bootstrap-dark": {
        # style: (at rest, hovered or pressed)
        "primary": ("#0b5ed7", "#0a53be"),
        "success": ("#146c43", "#0f5132"),
        "danger": ("#b02a37", "#842029"),
    },
    "bootstrap-light": {
        "secondary": ("#5c636a", "#4d5154"),
        "success": ("#198754", "#146c43"),
    },
}
"""Button backgrounds that white text reads on, per theme and bootstyle."""
TEXT = {
    "bootstrap-dark": {"danger": "#ea868f"},
}
"""Text colours on the window's background (labels, outline buttons), per theme."""


def make_readable(style: ttk.Style, theme: str) -> None:
    """Retouch the styles of ``theme``, the one in use; call again after each change of theme."""
    active = ["pressed", "hover", "focus"]
    for bootstyle, (rest, darker) in SOLID.get(theme, {}).items():
        name = f"{bootstyle}.TButton"
        style.configure(name, background=rest, bordercolor=rest, lightcolor=rest, darkcolor=rest)
        states = [(f"{state} !disabled", darker) for state in active]
        style.map(name, background=states, bordercolor=states, lightcolor=states, darkcolor=states)
        # An outline button fills only when hovered or pressed, with white text.
        filled = [(f"{state} !disabled", darker) for state in ("pressed", "hover")]
        style.map(
            f"{bootstyle}.Outline.TButton",
            background=filled,
            bordercolor=filled,
            lightcolor=filled,
            darkcolor=filled,
            foreground=[(f"{state} !disabled", "#ffffff") for state in ("pressed", "hover")],
        )
    for bootstyle, colour in TEXT.get(theme, {}).items():
        style.configure(f"{bootstyle}.TLabel", foreground=colour)
        style.configure(f"{bootstyle}.Outline.TButton", foreground=colour, bordercolor=colour)
