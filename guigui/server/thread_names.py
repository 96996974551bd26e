"""Give the operating system the name of each server thread, so tools can tell them apart.

Python names its threads for itself only (``threading.Thread(name=...)``); to
the kernel every thread of the server is ``python``. Named with ``prctl``,
they show as ``store``, ``event-loop``, ``bcrypt_0``... in ``top -H``,
``ps -L`` and ``/proc/PID/task/*/comm``: the benchmark reads the last to
measure each thread's CPU (the loop's, the store worker's), and an admin
sees which thread is busy. Linux keeps 15 bytes of a name; elsewhere this
does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
import threading
from collections.abc import Callable

_PR_SET_NAME = 15
_MAX_NAME_BYTES = 15


def _load_prctl() -> Callable[..., int] | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    except OSError:
        return None
    prctl: Callable[..., int] | None = getattr(libc, "prctl", None)
    return prctl


_prctl = _load_prctl()


def name_os_thread(name: str | None = None) -> None:
    """Name the calling thread for the OS: ``name``, or its Python name (cut to 15 bytes)."""
    if _prctl is None:
        return
    wanted = (name or threading.current_thread().name).encode("utf-8", "replace")
    _prctl(_PR_SET_NAME, ctypes.c_char_p(wanted[:_MAX_NAME_BYTES]), 0, 0, 0)
