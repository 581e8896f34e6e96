"""`reelform init`: the files of a new video-as-code repository.

The files live beside this module as package data (dot files without their dot,
so that packaging tools do not skip them); ``FILES`` says where each one goes.
Nothing is overwritten unless asked: ``existing`` lists what is in the way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from reelform.atomic import atomic_write
from reelform.scaffold.pinned import ACTION_PLACEHOLDER, Pinned, detect, parse_action

#: destination (relative to the new repository) -> scaffold file
FILES = {
    "specs/welcome.yaml": "welcome.yaml",
    "templates/welcome.txt.j2": "welcome.txt.j2",
    "data/customers.csv": "customers.csv",
    "assets/README.md": "assets-README.md",
    ".gitignore": "gitignore",
    ".gitattributes": "gitattributes",
    ".github/workflows/reelform.yml": "reelform.yml",
    "README.md": "README.md",
    "reelform.toml": "reelform.toml",
}
SCHEMA = "schemas/reelform.schema.json"
WORKFLOW = ".github/workflows/reelform.yml"
#: What the README tells to install where no pinned source is known.
SOURCE_PLACEHOLDER = "<a pinned source of reelform: see .github/workflows/reelform.yml>"


@dataclass(frozen=True)
class Origin:
    """Where the new repository's reelform comes from.

    ``source``: what pip installs, pinned; ``action``: ``OWNER/REPO@COMMIT`` of the
    reelform GitHub action the workflow uses. Either may be unknown (None): the
    files then say so, and the workflow fails until they are filled in.
    """

    source: Pinned | None
    action: str | None

    @classmethod
    def of(cls, source: Pinned | None, action: str | None = None) -> Origin:
        """The action defaults to the source's own, for a GitHub repository at a commit."""
        return cls(source, action or (source.action if source else None))

    @property
    def install(self) -> str:
        """The workflow's REELFORM_INSTALL: empty when the action's own checkout is it."""
        if self.source is None or self.source.action == self.action:
            return ""
        return self.source.spec

    @property
    def tool(self) -> str:
        """What `pipx install` / `uv tool install` takes for the same reelform."""
        if self.source is not None:
            return self.source.spec
        if self.action is not None:
            repo, _, commit = self.action.rpartition("@")
            return f"git+https://github.com/{repo}@{commit}"
        return SOURCE_PLACEHOLDER


#: Written by the release workflow into the package it builds: {"action":
#: "OWNER/REPO@COMMIT"}, the action at the commit the release was built from.
BUILT_FROM = "built-from.json"


def running_origin(package: Path | None = None) -> Origin:
    """Where the running reelform came from: its pinned source and action, if known.

    The source: its git checkout's remote at HEAD, or what pip recorded installing
    it (``pinned.detect``). The action: the source's own, or else the one a release
    build recorded (so a wheel installed from any index still knows its commit).
    """
    if package is None:
        import reelform

        package = Path(reelform.__file__).parent
    source = detect(package)
    built = package / "scaffold" / BUILT_FROM
    action = None
    if source is None or source.action is None:
        try:
            action = parse_action(str(json.loads(built.read_text(encoding="utf-8"))["action"]))
        except (OSError, ValueError, KeyError, TypeError):
            action = None
    return Origin.of(source, action)


def contents(origin: Origin | None = None) -> dict[str, str]:
    """Every file of the scaffold, by destination, as it will be written."""
    from reelform.speclang.schema import json_schema

    origin = origin if origin is not None else Origin(None, None)
    package = resources.files(__name__)
    files = {
        dest: package.joinpath(name).read_text(encoding="utf-8") for dest, name in FILES.items()
    }
    files[WORKFLOW] = (
        files[WORKFLOW]
        .replace("__ACTION__", origin.action or ACTION_PLACEHOLDER)
        .replace("__ACTION_NOTE__", _action_note(origin))
        .replace("__INSTALL__", origin.install)
    )
    files["README.md"] = files["README.md"].replace("__SOURCE__", origin.tool)
    # The same text as `reelform schema`, so that `make schema`-style checks agree.
    files[SCHEMA] = json.dumps(json_schema(), indent=2, sort_keys=True) + "\n"
    return dict(sorted(files.items()))


def _action_note(origin: Origin) -> str:
    if origin.action is None:
        return (
            "CHANGE ME (twice, in both jobs): the GitHub repository of reelform at a commit id,\n"
            "      # OWNER/REPO@<40 hex>; `reelform init --action OWNER/REPO@COMMIT` writes it."
        )
    if origin.install:
        return "The reelform action at a commit; it installs REELFORM_INSTALL (above)."
    return "reelform at a commit: the action installs reelform from its own checkout."


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
