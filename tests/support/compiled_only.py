"""A mark for tests of the compiled decoder and writer themselves (kubespan/otlp/csrc/).

With `KUBESPAN_PURE_PYTHON=1` the compiled code is switched off on purpose, so these tests
have nothing to test; everywhere else they run, and a missing build fails them.
"""

from __future__ import annotations

import pytest

from kubespan.otlp.compiled import PURE_PYTHON_ENV, pure_python_asked

compiled_only = pytest.mark.skipif(
    pure_python_asked(), reason=f"{PURE_PYTHON_ENV} is set: the compiled decoder these tests check is switched off")
