"""The one compiled part: moderator/classifier/_blocks.c (everything else is in pyproject.toml).

It needs only a C compiler and Python's headers (no numpy headers). Without a compiler the
install still succeeds and the classifier scores with numpy instead, to the same bits, more
slowly; tests/test_compiled_blocks.py fails when the extension was not built.
"""

from setuptools import Extension
from setuptools import setup

setup(
    ext_modules=[
        Extension(
            "moderator.classifier._blocks",
            sources=["moderator/classifier/_blocks.c"],
            # No fused multiply-add (aarch64 compilers fuse by default): numpy doesn't fuse,
            # and the scores must equal the batch path's to the last bit.
            extra_compile_args=["-O2", "-ffp-contract=off", "-fno-fast-math"],
            optional=True,
        )
    ]
)
