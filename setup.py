"""Builds the compiled engine; ``CARDSEQ_NO_EXTENSIONS=1`` builds pure Python instead.

Without that switch a failed compile fails the build: a pure build is a choice, never
a silent fallback. The failure ends with one line that names the switch.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

PURE = bool(os.environ.get("CARDSEQ_NO_EXTENSIONS"))
HINT = (
    "cardseq: the compiled engine did not build (is a C compiler installed?); "
    "set CARDSEQ_NO_EXTENSIONS=1 to install the pure-Python engine instead"
)


class BuildEngine(build_ext):
    """build_ext whose failure ends with the hint above as its last line."""

    def run(self) -> None:
        try:
            super().run()
        except Exception as error:  # compiler missing, compile or link error
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(HINT) from None

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:
            print(f"error: {error}", file=sys.stderr)
            raise SystemExit(HINT) from None


if PURE:
    options = {
        "ext_modules": [],
        # a pure wheel carries no engine source: nothing in it could compile the .pyx
        "exclude_package_data": {"cardseq": ["*.pyx", "_engine_c.pyi"]},
    }
else:
    from Cython.Build import cythonize

    options = {
        "ext_modules": cythonize(
            [Extension("cardseq._engine_c", ["cardseq/_engine_c.pyx"], extra_compile_args=["-O3"])],
            compiler_directives={"language_level": "3"},
        ),
        "cmdclass": {"build_ext": BuildEngine},
    }

setup(**options)
