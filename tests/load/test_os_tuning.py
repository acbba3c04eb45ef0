"""Process resources: the open-files limit is raised to the hard limit, malloc is tuned."""

from __future__ import annotations

import resource
import subprocess
import sys

from kubespan.os_tuning import tune_malloc

CHILD = "from kubespan.os_tuning import raise_open_files_limit; print(*raise_open_files_limit())"


def test_open_files_soft_limit_is_raised_to_the_hard_limit() -> None:
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    low = min(256, hard)

    def lower() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (low, hard))

    out = subprocess.run([sys.executable, "-c", CHILD], preexec_fn=lower, capture_output=True, text=True,
                         check=True, timeout=60).stdout.split()
    expected = hard if hard != resource.RLIM_INFINITY else 1 << 20
    assert [int(x) for x in out] == [low, expected]


def test_malloc_is_tuned_on_glibc() -> None:
    import platform

    assert tune_malloc() == (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc")
