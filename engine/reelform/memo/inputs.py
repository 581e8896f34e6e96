"""The memo's key: everything an expansion and its fingerprints read, by content.

``recorded`` lists it after a full plan, from what the expansion itself read
(``speclang.expand.Reads``: the digests of the bytes it parsed, not of the files
read again later) and the asset facts the fingerprints used. The checks read the
same things again now, in two steps: ``changed_before_state`` (code, spec, `--var`,
data files, templates: before the state is read, so a miss costs little) and
``asset_facts`` (which, like ``project.prepare``, trusts the state's hash cache
for a file whose size and mtime it knows).

An asset's facts are compared without their mtime: a file touched with the same
content makes the same fingerprints and the same fit checks, so it is the same
plan. Everything else is compared exactly.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from reelform.speclang.assets import FileFacts, probe

if TYPE_CHECKING:  # a memo that is used expands nothing: no pydantic model, no Jinja
    from reelform.speclang.expand import LoadedSpec
    from reelform.state.records import FileRecord


def recorded(
    spec: LoadedSpec,
    facts: Mapping[str, FileFacts | None],
    var_overrides: Mapping[str, str] | None,
    code: str,
) -> dict[str, Any] | None:
    """The inputs of a prepared spec; None when one of them cannot be captured."""
    reads = spec.reads
    if reads is None or not reads.stable or reads.spec is None:
        return None
    if any(sha256 is None for _, sha256 in reads.data):
        return None  # a data file that failed: the spec had problems
    assets = []
    for name, decl in sorted(spec.assets.items()):
        if decl.url is not None:
            continue  # the URL is in the spec's bytes; nothing is read
        known = facts.get(name)
        if known is None:
            return None
        assets.append([name, decl.display, facts_identity(known)])
    return {
        "code": code,
        "spec": reads.spec,
        "vars": vars_digest(var_overrides),
        "data": [list(entry) for entry in reads.data],
        "templates": [list(entry) for entry in reads.templates],
        "assets": assets,
    }


def vars_digest(var_overrides: Mapping[str, str] | None) -> str:
    """The `--var` overrides, by digest: a value may be anything a person typed."""
    text = orjson.dumps(var_overrides or {}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()


def facts_identity(facts: FileFacts) -> dict[str, Any]:
    """What of an asset's facts a plan depends on: all but the mtime."""
    return {key: value for key, value in facts.to_json().items() if key != "mtime_ns"}


def changed_before_state(
    inputs: Mapping[str, Any],
    directory: Path,
    spec_sha256: str,
    var_overrides: Mapping[str, str] | None,
    code: str,
) -> str | None:
    """What differs from ``inputs`` now, but for the assets: None when nothing does."""
    if inputs.get("code") != code:
        return "reelform, Python or an installed package changed"
    if inputs.get("spec") != spec_sha256:
        return "the spec file changed"
    if inputs.get("vars") != vars_digest(var_overrides):
        return "--var differs"
    for written, sha256 in inputs["data"]:
        if _file_sha256(directory / written) != sha256:
            return f"data file {written} changed"
    templates = inputs["templates"]
    if not templates:
        return None
    from reelform.speclang.render import ask_again, from_spec_folder

    loader = ask_again(directory, [name for name, _, _ in templates])
    now = sorted(
        [name, from_spec_folder(found, directory), sha256]
        for name, (found, sha256) in loader.asked.items()
    )
    if not loader.stable or now != templates:
        return "a template changed"
    return None


def asset_facts(
    inputs: Mapping[str, Any], directory: Path, known: Mapping[str, FileRecord]
) -> list[Any] | None:
    """The asset entries of ``inputs`` as they are now (None: a file is gone), probed as
    ``project.prepare`` probes them, with the state's hash cache ``known``."""
    assets = []
    for name, written, _ in inputs["assets"]:
        path = (directory / written).resolve()
        if not path.is_file():
            return None
        key = Path(os.path.relpath(path, directory)).as_posix()
        cached = known.get(key)
        try:
            facts = probe(path, FileFacts.from_json(cached.to_json()) if cached else None)
        except OSError:
            return None
        assets.append([name, written, facts_identity(facts)])
    return assets


def _file_sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None
