"""Process resources: the open-files limit is raised to the hard limit, malloc is tuned."""

from __future__ import annotations

import resource
import subprocess
import sys

from kubespan.os_tuning import tune_malloc

CHILD = ("import resource, sys; resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), int(sys.argv[2])));"
         "from kubespan.os_tuning import raise_open_files_limit; print(*raise_open_files_limit())")


def test_open_files_soft_limit_is_raised_to_the_hard_limit() -> None:
    """The child lowers its own soft limit first (no `preexec_fn`: a fork of this process, which has run
    gRPC's event engine, may abort in the engine's fork handlers before it could exec)."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)
    out = subprocess.run([sys.executable, "-c", CHILD, str(low), str(hard)], capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    expected = hard if hard != resource.RLIM_INFINITY else 1 << 20
    assert [int(x) for x in out] == [low, expected]


def test_malloc_is_tuned_on_glibc() -> None:
    import platform

    assert tune_malloc() == (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")
