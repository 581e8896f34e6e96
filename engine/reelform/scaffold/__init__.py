"""`reelform init`: the files of a new video-as-code repository.

The files live beside this module as package data (dot files without their dot,
so that packaging tools do not skip them); ``FILES`` says where each one goes.
Nothing is overwritten unless asked: ``existing`` lists what is in the way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

import reelform
from reelform.atomic import atomic_write

#: destination (relative to the new repository) -> scaffold file
FILES = {
    "specs/welcome.yaml": "welcome.yaml",
    "templates/welcome.txt.j2": "welcome.txt.j2",
    "data/customers.csv": "customers.csv",
    "assets/README.md": "assets-README.md",
    ".gitignore": "gitignore",
    ".github/workflows/reelform.yml": "reelform.yml",
    "README.md": "README.md",
}
SCHEMA = "schemas/reelform.schema.json"


def contents() -> dict[str, str]:
    """Every file of the scaffold, by destination, as it will be written."""
    from reelform.speclang.schema import json_schema

    package = resources.files(__name__)
    files = {
        dest: package.joinpath(name).read_text(encoding="utf-8") for dest, name in FILES.items()
    }
    workflow = ".github/workflows/reelform.yml"
    files[workflow] = files[workflow].replace("__VERSION__", reelform.__version__)
    # The same text as `reelform schema`, so that `make schema`-style checks agree.
    files[SCHEMA] = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    return dict(sorted(files.items()))


def existing(root: Path, names: Iterable[str]) -> list[str]:
    return [name for name in names if (root / name).exists()]


def write(root: Path, files: dict[str, str]) -> list[Path]:
    """Write ``files`` below ``root``, each atomically."""
    written = []
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, text.encode("utf-8"))
        written.append(path)
    return written
