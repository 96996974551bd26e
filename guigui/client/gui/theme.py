"""The client's own colours, per theme: readable (WCAG AA, 4.5:1) on the theme's backgrounds.

ttkbootstrap colours the ttk widgets; the message view and the input box are
classic Tk ``Text`` widgets and the lists colour people by status, so their
colours come from here. Every text colour of a palette is chosen to reach
4.5:1 on each background it is drawn on (the box, a highlighted mention line,
a list), which ``tests/client/gui/test_contrast.py`` measures on the real
widgets.
"""

from __future__ import annotations

from dataclasses import dataclass

import ttkbootstrap as ttk

from guigui.common.protocol import Status


@dataclass(frozen=True)
class Palette:
    """The colours the client draws itself in one theme."""

    background: str
    """The message view and the input box."""
    foreground: str
    muted: str
    """Times, day lines, messages still being sent."""
    mine: str
    """The user's own name."""
    error: str
    mention_background: str
    """A line that mentions the user: a tint every text colour above stays readable on."""
    status: dict[Status, str]
    """A person's presence in the list of who is online."""
    secondary: str
    """Quiet labels (list titles, the counter, the status bar) on the window's background."""
    link: str
    """Link-like buttons on the window's background."""
    primary: tuple[str, str] | None = None
    """Primary buttons' background at rest and when hovered or pressed, where the theme's own
    is too light for their white text (``None``: the theme's)."""


PALETTES = {
    "light": Palette(
        background="#ffffff",
        foreground="#212529",
        muted="#5c636a",
        mine="#0a58ca",
        error="#b02a37",
        mention_background="#fff3cd",
        status={
            Status.ONLINE: "#146c43",
            Status.AWAY: "#9a4a00",
            Status.BUSY: "#b02a37",
            Status.OFFLINE: "#5c636a",
        },
        secondary="#5c636a",
        link="#0a58ca",
    ),
    "dark": Palette(
        background="#2b3035",
        foreground="#e9ecef",
        muted="#adb5bd",
        mine="#6ea8fe",
        error="#ea868f",
        mention_background="#3d3410",
        status={
            Status.ONLINE: "#75b798",
            Status.AWAY: "#feb272",
            Status.BUSY: "#ea868f",
            Status.OFFLINE: "#adb5bd",
        },
        secondary="#bdc4ca",
        link="#6ea8fe",
        primary=("#0b5ed7", "#0a53be"),
    ),
}

LINK_STYLES = ("Link.TButton", "secondary.Link.TButton")
"""The theme's link buttons: cyan when hovered or pressed, too pale on white."""


def apply_palette(style: ttk.Style, theme: str) -> Palette:
    """Retouch the theme's styles the client uses for ``theme`` (call after each theme change).

    Call it once the widgets exist: ttkbootstrap builds a style when a widget first uses it.
    """
    palette = PALETTES[theme]
    style.configure("secondary.TLabel", foreground=palette.secondary)
    style.configure("danger.TLabel", foreground=palette.error)
    style.configure("success.TLabel", foreground=palette.status[Status.ONLINE])
    for name in LINK_STYLES:
        style.map(
            name,
            foreground=[("pressed", palette.foreground), ("hover", palette.foreground)],
            focuscolor=[("pressed", palette.foreground), ("hover", palette.foreground)],
        )
    # A list with the keyboard focus shows it: a ring in the link colour.
    ring = [("focus", palette.link)]
    style.map("Treeview", bordercolor=ring, lightcolor=ring, darkcolor=ring)
    style.configure("Link.TButton", foreground=palette.link)
    style.configure("secondary.Link.TButton", foreground=palette.secondary)
    if palette.primary is not None:
        rest, active = palette.primary
        style.configure(
            "primary.TButton", background=rest, bordercolor=rest, lightcolor=rest, darkcolor=rest
        )
        states = [("pressed", "!disabled", active), ("hover", "!disabled", active)]
        # The kick banner: white text on the theme's blue, too.
        style.configure("@primary.TLabel", background=rest)
        for name in ("primary.TButton", "primary.Outline.TButton"):
            style.map(
                name, background=states, bordercolor=states, lightcolor=states, darkcolor=states
            )
    return palette
