"""Builds the compiled engine; ``CARDSEQ_NO_EXTENSIONS=1`` builds pure Python instead.

Without that switch a failed compile fails the build: a pure build is a choice, never
a silent fallback.
"""

import os

from setuptools import Extension, setup

if os.environ.get("CARDSEQ_NO_EXTENSIONS"):
    ext_modules = []
else:
    from Cython.Build import cythonize

    ext_modules = cythonize(
        [Extension("cardseq._engine_c", ["cardseq/_engine_c.pyx"], extra_compile_args=["-O3"])],
        compiler_directives={"language_level": "3"},
    )

setup(ext_modules=ext_modules)
