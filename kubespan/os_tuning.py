"""What kubespan tunes in its own process: malloc arenas and the open-files limit.

With many receiver threads, glibc malloc gives each its own arena and keeps freed request
buffers in them, and its adaptive mmap threshold soon serves every request body (hundreds of
kilobytes) from those arenas too. In a 30 s `scripts/soak.py` run with a 64 MiB store budget,
RSS above idle peaked at 98 MiB; with two arenas and a fixed 128 KiB mmap threshold (big
blocks go back to the system when freed) at 81 MiB (proto_notes/load.md). An explicit
`MALLOC_ARENA_MAX` / `MALLOC_MMAP_THRESHOLD_` in the environment wins.
"""

from __future__ import annotations

import ctypes
import os
import sys

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
ARENAS = 2
MMAP_THRESHOLD = 128 * 1024


def tune_malloc() -> bool:
    """Apply the settings above on glibc; True if malloc accepted them (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    accepted = True
    if "MALLOC_ARENA_MAX" not in os.environ:
        accepted &= mallopt(M_ARENA_MAX, ARENAS) == 1
    if "MALLOC_MMAP_THRESHOLD_" not in os.environ:
        accepted &= mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
    return accepted


def raise_open_files_limit() -> tuple[int, int]:
    """Raise the soft limit on open files to the hard limit, as Go programs (the Collector) do.

    Every client connection is a file descriptor; a soft limit of 1024 (common on desktops)
    would make the receivers refuse connections long before memory runs short. Returns the
    (old, new) soft limit."""
    try:
        import resource
    except ImportError:  # not on this platform
        return 0, 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft, soft
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    except (ValueError, OSError):
        return soft, soft
    return soft, wanted
