"""The lockfile's typed records: JSON in, the same JSON out, and the statuses."""

from __future__ import annotations

import dataclasses
import pickle
from pathlib import Path
from typing import Any

import pytest

from reelform.state.journal import Journal
from reelform.state.lockfile import LockState, Records, dump_lock, parse_lock
from reelform.state.records import (
    RECORD_TYPES,
    AvatarRecord,
    FileRecord,
    Record,
    Status,
    UploadRecord,
    VideoOutput,
    VideoRecord,
)
from reelform.state.shapes import FIELDS, OUTPUT_FIELDS

FP = "f" * 64


@pytest.mark.parametrize(
    ("data", "record"),
    [
        ({}, VideoRecord()),
        (
            {"fingerprint": FP, "status": "submitted", "job_id": "j1", "inputs": {"a": 1}},
            VideoRecord(fingerprint=FP, status=Status.SUBMITTED, job_id="j1", inputs={"a": 1}),
        ),
        (
            {"status": "completed", "output": {"path": "out/a.mp4", "bytes": 3, "signed": True}},
            VideoRecord(
                status=Status.COMPLETED,
                output=VideoOutput(path="out/a.mp4", bytes=3, signed=True),
            ),
        ),
        ({"output": {}}, VideoRecord(output=VideoOutput())),  # an output with nothing in it
        # A null is kept as a null, not dropped: the same bytes go back out.
        ({"error": None}, VideoRecord(nulls=frozenset({"error"}))),
        (
            {"output": {"url": "u", "duration": None}},
            VideoRecord(output=VideoOutput(url="u", nulls=frozenset({"duration"}))),
        ),
        # Fields this reelform does not know ride along, nulls and all.
        (
            {"status": "failed", "cover": [1], "x": None},
            VideoRecord(status=Status.FAILED, extra={"cover": [1], "x": None}),
        ),
        ({"output": {"codec": "h264"}}, VideoRecord(output=VideoOutput(extra={"codec": "h264"}))),
    ],
)
def test_a_video_from_json_and_back(data: dict[str, Any], record: VideoRecord) -> None:
    built = VideoRecord.from_json(data)
    assert built == record
    assert built.to_json() == data


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (AvatarRecord, {}),
        (
            AvatarRecord,
            {"fingerprint": FP, "provider": "jogg", "model": "2.0", "status": "submitted"},
        ),
        (AvatarRecord, {"status": "completed", "motion_id": "m", "avatar_id": 7}),
        (AvatarRecord, {"avatar_id": "7", "model": None, "source": "newer"}),
        (UploadRecord, {"url": "https://x/a.png", "at": "2026-01-01T00:00:00Z"}),
        (UploadRecord, {"url": "https://x/a.png", "at": None, "etag": "e"}),
        (FileRecord, {"sha256": FP, "size": 3, "mtime_ns": 9, "format": "wav", "duration": 1.5}),
        (FileRecord, {"sha256": FP, "size": 3, "mtime_ns": 9, "width": None, "exif": {}}),
    ],
)
def test_every_record_from_json_and_back(cls: type[Record], data: dict[str, Any]) -> None:
    record = cls.from_json(data)
    assert record.to_json() == data
    assert cls.from_json(record.to_json()) == record


def test_unknown_fields_survive_a_load_and_a_save() -> None:
    raw = (
        b'{"version": 1, "videos": {"a": {"status": "completed", "reviewed": {"by": "ana"}, '
        b'"output": {"path": "a.mp4", "codec": "h264"}}}, "uploads": {"jogg:1": '
        b'{"url": "u", "etag": 3}}, "files": {"f": {"sha256": "s", "exif": null}}}'
    )
    state = parse_lock(raw, Path("s.lock"))
    video = state.videos["a"]
    assert video.extra == {"reviewed": {"by": "ana"}}
    assert video.output is not None and video.output.extra == {"codec": "h264"}
    again = parse_lock(dump_lock(state), Path("s.lock"))
    assert again == state
    # And through a change: a record made from it by replace keeps them.
    failed = dataclasses.replace(video, status=Status.FAILED)
    assert failed.to_json()["reviewed"] == {"by": "ana"}
    assert again.uploads["jogg:1"].extra == {"etag": 3}
    assert again.files["f"].to_json() == {"sha256": "s", "exif": None}


def test_records_are_immutable() -> None:
    record = VideoRecord(status=Status.SUBMITTED)
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.status = Status.COMPLETED  # type: ignore[misc]
    assert dataclasses.replace(record, status=Status.COMPLETED).status is Status.COMPLETED
    assert record.status is Status.SUBMITTED


def test_from_json_sets_every_field() -> None:
    """``from_json`` bypasses ``__init__``: no slot may be left unset."""
    for cls in (*RECORD_TYPES.values(), VideoOutput):
        record: Any = cls.from_json({})
        assert record == cls()
        for field in dataclasses.fields(cls):
            getattr(record, field.name)


def test_the_records_fields_are_the_ones_shapes_checks() -> None:
    # shapes checks a record's types once, when it is read; from_json trusts them.
    for section, cls in RECORD_TYPES.items():
        names = [f.name for f in dataclasses.fields(cls) if f.name not in ("extra", "nulls")]
        assert names == list(FIELDS[section]), section
    names = [f.name for f in dataclasses.fields(VideoOutput) if f.name not in ("extra", "nulls")]
    assert names == list(OUTPUT_FIELDS)


def test_records_pickle() -> None:
    """The preload sends records from a child process (state/preload.py)."""
    record = VideoRecord.from_json({"status": "weird", "output": {"url": "u"}, "x": 1})
    assert pickle.loads(pickle.dumps(record)) == record


# --- Status ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "status"),
    [
        ("submitting", Status.SUBMITTING),
        ("submitted", Status.SUBMITTED),
        ("completed", Status.COMPLETED),
        ("failed", Status.FAILED),
        ("unknown", Status.UNKNOWN),
    ],
)
def test_the_statuses_reelform_writes(text: str, status: Status) -> None:
    assert Status.of(text) is status and Status(text) is status
    assert status == text and str(status) == text and hash(status) == hash(text)


def test_a_status_reelform_does_not_write_is_kept_as_it_was() -> None:
    """A hand edit or another tool: not an error (the plan calls it unexpected), and
    written back as it was read."""
    status = Status.of("processing")
    assert isinstance(status, Status) and status == "processing" and str(status) == "processing"
    assert status not in list(Status)
    assert all(status != known for known in Status)
    record = AvatarRecord.from_json({"status": "processing"})
    assert record.to_json() == {"status": "processing"}
    assert pickle.loads(pickle.dumps(status)) == "processing"


def test_a_record_goes_only_into_its_own_section(tmp_path: Path) -> None:
    state = LockState()
    with pytest.raises(TypeError, match="AvatarRecord is not a record of videos"):
        state.apply_change("videos", "a", AvatarRecord())
    journal = Journal(tmp_path / "s.lock", state)
    with pytest.raises(TypeError, match="VideoRecord is not a record of uploads"):
        journal.record("uploads", "a", VideoRecord())
    journal.close()
    assert journal.written == 0 and (tmp_path / "s.lock.journal").read_bytes() == b""


# --- Records: a section as read ----------------------------------------------------------


def test_a_section_as_read_builds_each_record_when_it_is_read() -> None:
    raw = b'{"version": 1, "videos": {"a": {"status": "completed"}, "b": {"status": "failed"}}}'
    videos = parse_lock(raw, Path("s.lock")).videos
    assert isinstance(videos, Records) and len(videos) == 2 and "a" in videos
    assert videos.json("a") == {"status": "completed"}  # its JSON as read: nothing built
    assert videos["a"] == VideoRecord(status=Status.COMPLETED)
    assert videos.get("b") == VideoRecord(status=Status.FAILED) and videos.get("c") is None
    assert videos == {
        "a": VideoRecord(status=Status.COMPLETED),
        "b": VideoRecord(status=Status.FAILED),
    }
    videos["a"] = VideoRecord(status=Status.UNKNOWN)
    assert videos.json("a") == {"status": "unknown"}  # a record's JSON: made from it


def test_a_section_as_read_survives_pickling() -> None:
    """The preload sends the files and avatars read in a child process."""
    raw = b'{"version": 1, "files": {"a": {"sha256": "s", "size": 1, "mtime_ns": 2}}}'
    files = parse_lock(raw, Path("s.lock")).files
    again = pickle.loads(pickle.dumps(files))
    assert again == files and again["a"] == FileRecord(sha256="s", size=1, mtime_ns=2)
