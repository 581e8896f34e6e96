"""The memo files: ``<root>/.reelform/cache/plan/<spec>-<digest>.json``, one per spec.

``<root>`` is the spec's repository root (``neighbours.repository_root``: the nearest
folder holding reelform.toml or .git), which the scaffold's .gitignore already keeps
out of git (``.reelform/``). The file is named by the spec's path from the root, so
two specs never share one, and written atomically (``atomic.py``).

A cache is an optimisation, never a source of truth or of errors: a file that is
missing, unreadable, damaged, of another format version or shaped wrongly is a
miss (``load`` returns None), and a file that cannot be written (a read-only
checkout, a full disk) is not written (``save`` says nothing). Either way the plan
is the full path's.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from reelform.atomic import atomic_write
from reelform.neighbours import repository_root

CACHE_FOLDER = Path(".reelform") / "cache" / "plan"
FORMAT = "reelform-plan-memo"
#: Bumped whenever what a memo holds or means changes: an older file is a miss.
VERSION = 1


@dataclass(frozen=True)
class MemoFile:
    """Where the memo of one spec lives, and how the spec is named in it."""

    path: Path
    spec: str  # the real spec file from the repository root, POSIX

    @classmethod
    def of(cls, real_spec: Path) -> MemoFile:
        """The memo of the spec file ``real_spec`` (already through any symlink)."""
        resolved = real_spec.resolve()
        root = repository_root(resolved.parent)
        spec = Path(os.path.relpath(resolved, root)).as_posix()
        tag = hashlib.sha256(spec.encode()).hexdigest()[:16]
        return cls(root / CACHE_FOLDER / f"{resolved.stem}-{tag}.json", spec)

    def load(self) -> dict[str, Any] | None:
        """The memo's document, or None for any file that is not a memo of this spec."""
        try:
            document = orjson.loads(self.path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            return None
        return self.accepted(document)

    def accepted(self, document: object) -> dict[str, Any] | None:
        """``document`` if it is a memo of this spec in this format (from the file or
        the state database), else None."""
        if (
            type(document) is not dict
            or document.get("format") != FORMAT
            or document.get("version") != VERSION
            or document.get("spec") != self.spec
        ):
            return None
        return document

    def document(self, inputs: dict[str, Any], value: dict[str, Any]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "spec": self.spec,
            "inputs": inputs,
            "value": value,
        }

    def save(self, inputs: dict[str, Any], value: dict[str, Any]) -> bool:
        """Write the memo; False (and nothing written) when the folder is not writable."""
        return self.save_document(self.document(inputs, value))

    def save_document(self, document: dict[str, Any]) -> bool:
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(self.path, orjson.dumps(document, option=orjson.OPT_SORT_KEYS))
        except OSError:
            return False
        return True
