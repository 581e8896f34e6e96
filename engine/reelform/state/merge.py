"""`reelform lock merge BASE OURS THEIRS`: a three-way merge of lockfiles, for git.

Two pull requests that each apply some videos both change ``welcome.lock``; git's
line merge conflicts on them (neighbouring lines, the section braces) and the way
out must not be dropping either side: each holds job ids that were paid for.

Records are merged by section and key, three ways:

* the same on both sides, or changed on one side only: that side's (a record
  deleted on one side and unchanged on the other is deleted);
* changed on both sides, differently:

  - ``files`` and ``uploads`` (caches of facts that either side may recompute):
    ours;
  - ``videos`` and ``avatars``: the one with more progress (``PROGRESS``:
    completed, then submitted, submitting, unknown, failed, anything else; a tie
    goes to ours). The other side's job (``job_id``; an avatar's ``motion_id``)
    is never dropped: it is kept in the winner's ``superseded`` list (with its
    status, fingerprint and times), which `plan` shows. A record deleted on one
    side and changed on the other is kept: a deletion never drops a job id.

The fingerprints of the two sides may differ (one side changed the spec, the
other rendered the old one): the merge cannot know the merged spec, so progress
still decides, and `plan` then says ``replace`` if the spec asks for the other.

Only a true conflict is refused (``LockfileError``): a side that is not a
reelform lockfile, is corrupt or is from a newer reelform. The result is laid out
exactly as ``lockfile.dump_lock`` writes it.

Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reelform.state.lockfile import SECTIONS, LockState, Records, dump_json, parse_lock
from reelform.state.shapes import where

#: Higher is more progress; a status not listed (hand-written, none) is 0.
PROGRESS = {"completed": 5, "submitted": 4, "submitting": 3, "unknown": 2, "failed": 1}
#: The field naming a side's paid job, by section.
JOB_FIELD = {"videos": "job_id", "avatars": "motion_id"}
#: What a superseded job keeps of its record.
KEPT_FIELDS = {
    "videos": ("job_id", "status", "fingerprint", "key", "submitted_at", "completed_at"),
    "avatars": ("motion_id", "avatar_id", "status", "fingerprint", "submitted_at"),
}
SUPERSEDED = "superseded"

Json = dict[str, Any]


@dataclass
class Merged:
    """The merged lockfile's sections (JSON records by key) and what was decided."""

    sections: dict[str, dict[str, Json]]
    #: One line per record changed on both sides: which side won and why.
    notes: list[str] = field(default_factory=list)

    def dump(self) -> bytes:
        return dump_json(self.sections)


def section_json(state: LockState, name: str) -> dict[str, Json]:
    """A section's records as JSON (as read, for records nobody built)."""
    section = state.section(name)
    if isinstance(section, Records):
        return {key: dict(section.json(key)) for key in section}
    return {key: record.to_json() for key, record in section.items()}


def merge_states(base: LockState, ours: LockState, theirs: LockState) -> Merged:
    return merge_json(
        *({name: section_json(state, name) for name in SECTIONS} for state in (base, ours, theirs))
    )


def merge_json(
    base: Mapping[str, Mapping[str, Json]],
    ours: Mapping[str, Mapping[str, Json]],
    theirs: Mapping[str, Mapping[str, Json]],
) -> Merged:
    """Merge three lockfiles' sections of (checked) JSON records."""
    merged = Merged({})
    for name in SECTIONS:
        b, o, t = base.get(name, {}), ours.get(name, {}), theirs.get(name, {})
        result: dict[str, Json] = {}
        for key in sorted({*b, *o, *t}):
            record = merge_record(name, b.get(key), o.get(key), t.get(key), key, merged.notes)
            if record is not None:
                result[key] = record
        merged.sections[name] = result
    return merged


def merge_record(
    section: str,
    base: Json | None,
    ours: Json | None,
    theirs: Json | None,
    key: str = "",
    notes: list[str] | None = None,
) -> Json | None:
    """The merged record of one key (None: none)."""
    if ours == theirs or theirs == base:
        return ours
    if ours == base:
        return theirs
    notes = [] if notes is None else notes
    if ours is None or theirs is None:
        kept = ours if theirs is None else theirs
        side = "ours" if theirs is None else "theirs"
        notes.append(
            f"{where(section, key)}: deleted on one side, changed on the other: kept {side}"
        )
        return kept
    if section not in JOB_FIELD:
        notes.append(f"{where(section, key)}: changed on both sides: kept ours")
        return ours
    winner, loser, side = ours, theirs, "ours"
    if _progress(theirs) > _progress(ours):
        winner, loser, side = theirs, ours, "theirs"
    record = supersede(section, winner, loser)
    notes.append(
        f"{where(section, key)}: changed on both sides: kept {side} "
        f"({winner.get('status')}), the other's job superseded"
        if len(record.get(SUPERSEDED, ())) > len(winner.get(SUPERSEDED, ()))
        else f"{where(section, key)}: changed on both sides: kept {side} ({winner.get('status')})"
    )
    return record


def _progress(record: Json) -> int:
    status = record.get("status")
    return PROGRESS.get(status, 0) if isinstance(status, str) else 0


def supersede(section: str, winner: Json, loser: Json) -> Json:
    """``winner``, with every job of ``loser`` it does not have in its ``superseded``."""
    job = JOB_FIELD[section]
    entries: list[Any] = []
    seen: set[Any] = {winner.get(job)} if winner.get(job) is not None else set()
    candidates: list[Any] = [*_superseded(winner), *_superseded(loser)]
    if loser.get(job) is not None:
        candidates.append({f: loser[f] for f in KEPT_FIELDS[section] if loser.get(f) is not None})
    for entry in candidates:
        ident = entry.get(job) if isinstance(entry, dict) else None
        if ident is not None and ident in seen:
            continue
        if ident is not None:
            seen.add(ident)
        if entry not in entries:
            entries.append(entry)
    if entries == _superseded(winner):
        return winner
    return {**winner, SUPERSEDED: entries}


def _superseded(record: Json) -> list[Any]:
    value = record.get(SUPERSEDED)
    return list(value) if isinstance(value, list) else []


def merge_bytes(base: bytes, ours: bytes, theirs: bytes, names: tuple[str, str, str]) -> Merged:
    """Merge three lockfiles' bytes; ``names`` name them in errors.

    An empty base is no lockfile (both sides added it); an empty side is refused,
    as the lockfile's reader refuses it. Raises ``LockfileError``.
    """
    states = [
        LockState() if not raw and index == 0 else parse_lock(raw, Path(name))
        for index, (raw, name) in enumerate(zip((base, ours, theirs), names, strict=True))
    ]
    return merge_states(*states)
