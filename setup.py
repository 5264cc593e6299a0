"""Builds the compiled modules of the ingest hot path; everything else is in pyproject.toml.

Optional: without a C compiler the install still succeeds and ingest runs its Python path alone
(``streamsift.records.native_available()`` says which one runs).
"""

from setuptools import Extension, setup

try:
    from Cython.Build import cythonize
except ImportError:  # building from an sdist without Cython: nothing to compile
    ext_modules = []
else:
    ext_modules = cythonize(
        [
            Extension("streamsift.records._v1_native", ["src/streamsift/records/_v1_native.pyx"], optional=True),
            Extension("streamsift.ingest._copy_native", ["src/streamsift/ingest/_copy_native.pyx"], optional=True),
        ],
        compiler_directives={"language_level": 3},
    )

setup(ext_modules=ext_modules)
