"""Build the optional compiled part of the edge decoder (kubespan/otlp/_spanwalk.c).

Everything else is in pyproject.toml. Without a C compiler the build skips the
extension and kubespan decodes with protobuf's accessors alone, more slowly.
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension("kubespan.otlp._spanwalk", ["kubespan/otlp/_spanwalk.c"], optional=True,
                  extra_compile_args=["-O2"]),
    ]
)
