"""Which code would expand a spec: the part of the memo's key that is not a file of
the project. Python's version, every installed distribution by name and version
(reelform's own, the provider plugins, pydantic, Jinja, ...: their
``*.dist-info`` folders on ``sys.path``), and the content of reelform's own
modules, so that a checkout edited without a new version number is new code too.
"""

from __future__ import annotations

import functools
import hashlib
import os
import sys
from pathlib import Path

import reelform

METADATA_SUFFIXES = (".dist-info", ".egg-info")


@functools.cache
def code_identity() -> str:
    """A digest of the code; the same in every process of the same installation."""
    digest = hashlib.sha256()
    digest.update(f"{sys.version}\0{sys.implementation.cache_tag}\0".encode())
    for name in sorted(_distributions()):
        digest.update(f"dist\0{name}\0".encode())
    package = Path(reelform.__file__).parent
    for path in _modules(package):
        digest.update(f"module\0{path.relative_to(package).as_posix()}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _distributions() -> set[str]:
    """The metadata folders of the installed distributions (``name-version.dist-info``):
    where importlib.metadata finds versions and the plugins' entry points."""
    names: set[str] = set()
    for entry in sys.path:
        try:
            with os.scandir(entry or ".") as found:
                names.update(e.name for e in found if e.name.endswith(METADATA_SUFFIXES))
        except OSError:
            continue  # a zip file, or a folder that does not exist
    return names


def _modules(package: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(package):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        found += [Path(folder, name) for name in sorted(files) if name.endswith(".py")]
    return found
