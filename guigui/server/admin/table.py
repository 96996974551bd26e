"""A table of the admin panel: a Treeview with headings and a scrollbar, filled from rows."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import ttkbootstrap as ttk


class Table(ttk.Frame):
    """A Treeview with headings and a scrollbar, filled from rows of strings.

    It asks for few rows (``height``): the window gives it the room left once
    the buttons around it are placed, so they never get pushed out.
    """

    def __init__(self, master: Any, columns: Sequence[tuple[str, str, int]]) -> None:
        super().__init__(master)
        self.tree = ttk.Treeview(
            self, columns=[name for name, _heading, _width in columns], show="headings", height=4
        )
        for name, heading, width in columns:
            self.tree.heading(name, text=heading)
            self.tree.column(name, width=width, minwidth=40, anchor="w")
        scrollbar = ttk.Scrollbar(self, orient="vertical", command=self.tree.yview)
        self.tree.configure(yscrollcommand=scrollbar.set)
        scrollbar.pack(side="right", fill="y")
        self.tree.pack(side="left", fill="both", expand=True)

    def show(self, rows: Sequence[tuple[str, Sequence[Any]]]) -> None:
        """Replace the rows (``(key, values)``), keeping the selection where it still exists."""
        selected = set(self.tree.selection())
        self.tree.delete(*self.tree.get_children())
        for key, values in rows:
            self.tree.insert("", "end", iid=key, values=list(values))
        keep = [key for key, _values in rows if key in selected]
        if keep:
            self.tree.selection_set(keep)

    def selected(self) -> list[str]:
        """Keys of the selected rows."""
        return list(self.tree.selection())


__all__ = ["Table"]
