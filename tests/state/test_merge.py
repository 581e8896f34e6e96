"""The three-way merge of lockfiles (``state.merge``): tables of records, pure."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from reelform.errors import LockfileError
from reelform.state.lockfile import dump_json, dump_lock, parse_lock
from reelform.state.merge import merge_bytes, merge_json, merge_record

Rec = dict[str, Any] | None

DONE_1 = {"fingerprint": "f", "status": "completed", "job_id": "j1"}
SUBMITTED_1 = {"fingerprint": "f", "status": "submitted", "job_id": "j1"}
DONE_2 = {"fingerprint": "f", "status": "completed", "job_id": "j2"}
SUBMITTED_2 = {"fingerprint": "f", "status": "submitted", "job_id": "j2"}
FAILED_3 = {"fingerprint": "f", "status": "failed", "job_id": "j3", "error": "no"}
SUBMITTING = {"fingerprint": "f", "status": "submitting", "key": "k"}


def superseded(record: dict[str, Any], *losers: dict[str, Any]) -> dict[str, Any]:
    return {**record, "superseded": list(losers)}


@pytest.mark.parametrize(
    ("base", "ours", "theirs", "merged"),
    [
        (None, DONE_1, None, DONE_1),  # added on one side
        (None, None, DONE_1, DONE_1),
        (None, DONE_1, DONE_1, DONE_1),  # the same on both
        (SUBMITTED_1, DONE_1, SUBMITTED_1, DONE_1),  # changed on one side
        (SUBMITTED_1, SUBMITTED_1, DONE_1, DONE_1),
        (DONE_1, None, DONE_1, None),  # deleted on one side, unchanged on the other
        (DONE_1, DONE_1, None, None),
        (SUBMITTED_1, None, DONE_1, DONE_1),  # deleted and changed: never drops a job
        (SUBMITTED_1, DONE_1, None, DONE_1),
        # the same job on both, one further along: no second job to keep
        (SUBMITTING, SUBMITTED_1, DONE_1, DONE_1),
        # two jobs: more progress wins, the other is superseded
        (None, SUBMITTED_1, DONE_2, superseded(DONE_2, SUBMITTED_1)),
        (None, DONE_1, SUBMITTED_2, superseded(DONE_1, SUBMITTED_2)),
        (
            None,
            FAILED_3,
            SUBMITTED_2,
            superseded(SUBMITTED_2, {"fingerprint": "f", "status": "failed", "job_id": "j3"}),
        ),
        # a tie goes to ours
        (None, DONE_1, DONE_2, superseded(DONE_1, DONE_2)),
        # no job id on the losing side: nothing to keep
        (None, DONE_1, SUBMITTING, DONE_1),
        # earlier superseded jobs of both sides are kept, once each
        (
            None,
            superseded(DONE_1, {"job_id": "j0"}),
            superseded(SUBMITTED_2, {"job_id": "j0"}, {"job_id": "j9"}),
            superseded(DONE_1, {"job_id": "j0"}, {"job_id": "j9"}, SUBMITTED_2),
        ),
    ],
)
def test_videos(base: Rec, ours: Rec, theirs: Rec, merged: Rec) -> None:
    assert merge_record("videos", base, ours, theirs) == merged


def test_avatars_keep_the_other_motion_id() -> None:
    ours = {"fingerprint": "p", "status": "submitted", "motion_id": "m1"}
    theirs = {"fingerprint": "p", "status": "completed", "motion_id": "m2", "avatar_id": 7}
    assert merge_record("avatars", None, ours, theirs) == {
        **theirs,
        "superseded": [{"fingerprint": "p", "status": "submitted", "motion_id": "m1"}],
    }


@pytest.mark.parametrize("section", ["files", "uploads"])
def test_caches_changed_on_both_sides_are_ours(section: str) -> None:
    base, ours, theirs = {"sha256": "a"}, {"sha256": "b"}, {"sha256": "c"}
    assert merge_record(section, base, ours, theirs) == ours
    assert merge_record(section, base, base, theirs) == theirs


def test_different_videos_on_each_side_merge_with_both() -> None:
    base = {"videos": {"a": SUBMITTING}}
    ours = {"videos": {"a": SUBMITTING, "b": DONE_1}}
    theirs = {"videos": {"a": DONE_2, "c": DONE_2}}
    merged = merge_json(base, ours, theirs)
    assert merged.sections["videos"] == {"a": DONE_2, "b": DONE_1, "c": DONE_2}
    assert merged.notes == []


def test_the_bytes_are_those_the_lockfile_writer_writes() -> None:
    extra = {**DONE_1, "new_field": [1, 2], "error": None}  # unknown fields and nulls survive
    base = dump_json({"videos": {"a": SUBMITTING}})
    ours = dump_json({"videos": {"a": extra}, "files": {"x.png": {"sha256": "s", "size": 1}}})
    theirs = dump_json({"videos": {"a": SUBMITTING, "b": DONE_2}})
    merged = merge_bytes(base, ours, theirs, ("O", "A", "B")).dump()
    state = parse_lock(merged, Path("A"))
    assert dump_lock(state) == merged
    assert merged == dump_json(
        {"videos": {"a": extra, "b": DONE_2}, "files": {"x.png": {"sha256": "s", "size": 1}}}
    )
    # an empty base: the lockfile was added on both sides
    assert merge_bytes(b"", ours, theirs, ("O", "A", "B")).sections["videos"]["b"] == DONE_2


@pytest.mark.parametrize(
    ("theirs", "reason"),
    [
        (b"<<<<<<< HEAD\n", "corrupt lockfile"),
        (b"[1, 2]", "not a reelform lockfile"),
        (b'{"version": 2}', "written by a newer reelform"),
        (dump_json({"videos": {"a": {"job_id": 5}}}), "job_id must be a string"),
        (b"", "corrupt lockfile"),
    ],
)
def test_a_side_reelform_cannot_read_is_a_conflict(theirs: bytes, reason: str) -> None:
    ours = dump_json({"videos": {"a": DONE_1}})
    with pytest.raises(LockfileError, match=reason):
        merge_bytes(ours, ours, theirs, ("O", "A", "B"))
