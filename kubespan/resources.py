"""Keep a long-running kubespan's resident memory close to what it really holds.

With many receiver threads, glibc malloc gives each its own arena and keeps freed request
buffers in them, and its adaptive mmap threshold soon serves every request body (hundreds of
kilobytes) from those arenas too. Under steady load that held ~30% more than the store's
budget in `scripts/soak.py`. Two arenas and a fixed 128 KiB mmap threshold (big blocks go
back to the system when freed) cut it; see proto_notes/load.md. An explicit
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
