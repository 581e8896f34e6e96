"""Is a finished video's output file still what the lockfile says it is?

Like git's index: a file whose size and mtime match the lockfile is taken as
unchanged without reading it; only a file whose mtime moved is hashed.
"""

from __future__ import annotations

import enum
import hashlib
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any


class OutputStatus(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"
    CHANGED = "changed"  # present, but its sha256 differs from the lockfile's


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def output_status(
    directory: str, entry: Mapping[str, Any], hash_file: Callable[[Path], str] = sha256_file
) -> OutputStatus | None:
    """The state of a completed entry's output file (None: the entry has none)."""
    output = entry.get("output")
    if not isinstance(output, dict) or not output.get("path"):
        return OutputStatus.MISSING if isinstance(output, dict) else None
    path = os.path.join(directory, str(output["path"]))  # strings: pathlib costs more
    try:
        facts = os.stat(path)
    except OSError:
        return OutputStatus.MISSING
    if facts.st_size == output.get("bytes") and (
        facts.st_mtime_ns == output.get("mtime_ns") or hash_file(Path(path)) == output.get("sha256")
    ):
        return OutputStatus.OK
    return OutputStatus.CHANGED
