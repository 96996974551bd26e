"""The limit on open files: every client is one descriptor.

Distributions often start processes with a soft limit of 1,024 under a hard one
of many thousands. As Redis and nginx do, the server raises its soft limit to
what the system allows at start; the benchmark does the same for the servers
it starts. No logging here: ``raise_open_file_limit`` also runs in a forked
child just before ``exec`` (``preexec_fn``), where taking a lock is unsafe.
"""

from __future__ import annotations

import resource

UNLIMITED_CEILING = 1 << 20
"""What "as many as possible" means when the hard limit is unlimited."""


def open_file_ceiling() -> int:
    """How far this process may raise its soft limit on open files (the hard limit)."""
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    return UNLIMITED_CEILING if hard == resource.RLIM_INFINITY else int(hard)


def raise_open_file_limit() -> int:
    """Raise the soft limit on open files to the ceiling; return the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY:
        return UNLIMITED_CEILING
    wanted = open_file_ceiling()
    if soft < wanted:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
            soft = wanted
        except (ValueError, OSError):
            pass  # the caller sees the limit unchanged
    return int(soft)
