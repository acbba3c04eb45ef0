"""Build the optional compiled part of the edge decoder (kubespan/otlp/csrc/).

Everything else is in pyproject.toml. Without a C compiler the build skips the
extension and kubespan decodes with protobuf's accessors alone, more slowly.
"""

from pathlib import Path

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "kubespan.otlp._spanwalk",
            sorted(str(path) for path in Path("kubespan/otlp/csrc").glob("*.c")),
            depends=sorted(str(path) for path in Path("kubespan/otlp/csrc").glob("*.h")),
            optional=True,
            extra_compile_args=["-O2"],
        ),
    ]
)
