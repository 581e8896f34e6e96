"""The lockfile: round trip, deterministic bytes, one line per video, atomic, safe."""

from __future__ import annotations

import difflib
import os
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reelform.errors import LockfileError
from reelform.state.lockfile import (
    LockState,
    atomic_write,
    dump_lock,
    parse_lock,
    read_lock,
    write_lock,
)
from reelform.state.records import (
    AvatarRecord,
    FileRecord,
    Status,
    UploadRecord,
    VideoRecord,
)
from reelform.state.shapes import FIELDS


def sample(count: int = 3) -> LockState:
    state = LockState()
    for i in range(count):
        state.videos[f"v-{i:05d}"] = VideoRecord.from_json(
            {
                "fingerprint": f"{i:064x}",
                "provider": "jogg",
                "status": "completed",
                "job_id": f"job{i}",
                "inputs": {"voice": {"script": f"hello {i}"}, "aspect": "square"},
                "output": {"path": f"out/v-{i:05d}.mp4", "sha256": "ab" * 32, "bytes": 1000 + i},
            }
        )
    state.files["assets/a.wav"] = FileRecord(sha256="cd" * 32, size=10, mtime_ns=1)
    state.uploads["jogg:" + "cd" * 32] = UploadRecord(
        url="https://x/a.wav", at="2026-01-01T00:00:00Z"
    )
    state.avatars["jogg/me"] = AvatarRecord(fingerprint="f", status=Status.COMPLETED, avatar_id=7)
    return state


def test_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    state = sample()
    assert write_lock(path, state) is True
    again = read_lock(path)
    assert (again.videos, again.files, again.uploads, again.avatars) == (
        state.videos,
        state.files,
        state.uploads,
        state.avatars,
    )
    assert again.digest and again.digest == read_lock(path).digest


def test_missing_lockfile_is_empty_state(tmp_path: Path) -> None:
    state = read_lock(tmp_path / "none.lock")
    assert (state.videos, state.files) == ({}, {}) and state.digest


def test_deterministic_and_sorted_whatever_the_insertion_order() -> None:
    forward = sample(5)
    backward = LockState(
        videos=dict(reversed(list(forward.videos.items()))),
        files=forward.files,
        uploads=forward.uploads,
        avatars=forward.avatars,
    )
    for name, record in backward.videos.items():
        inputs = dict(reversed(list((record.inputs or {}).items())))
        backward.videos[name] = replace(record, inputs=inputs)
    assert dump_lock(forward) == dump_lock(backward)
    lines = dump_lock(forward).decode().splitlines()
    video_lines = [line for line in lines if line.startswith('    "v-')]
    assert video_lines == sorted(video_lines) and len(video_lines) == 5
    assert lines[0] == "{" and lines[1] == '  "version": 1,'


def test_empty_state_is_valid_json() -> None:
    import json

    assert json.loads(dump_lock(LockState())) == {
        "version": 1,
        "files": {},
        "uploads": {},
        "avatars": {},
        "videos": {},
    }


def test_one_changed_video_changes_one_line() -> None:
    before = sample(50)
    after = sample(50)
    after.videos["v-00020"] = replace(after.videos["v-00020"], status=Status.FAILED)
    old, new = dump_lock(before).decode().splitlines(), dump_lock(after).decode().splitlines()
    changes = [
        line
        for line in difflib.unified_diff(old, new, lineterm="", n=0)
        if line[:1] in "+-" and not line.startswith(("+++", "---"))
    ]
    assert len(changes) == 2 and all('"v-00020"' in line for line in changes)


def test_adding_a_video_adds_one_line() -> None:
    before = sample(10)
    after = sample(10)
    after.videos["v-00004x"] = VideoRecord(status=Status.SUBMITTED)
    old, new = dump_lock(before).decode().splitlines(), dump_lock(after).decode().splitlines()
    added = [line for line in difflib.ndiff(old, new) if line.startswith("+ ")]
    assert added == ['+     "v-00004x": {"status":"submitted"},']


def test_written_only_if_changed(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    write_lock(path, sample())
    os.utime(path, ns=(1, 1))
    assert write_lock(path, sample()) is False
    assert path.stat().st_mtime_ns == 1


def test_atomic_write_leaves_no_temp_files_and_replaces_whole(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    path.write_bytes(b"x" * 10_000)
    atomic_write(path, b"short")
    assert path.read_bytes() == b"short"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.lock"]


def test_atomic_write_failure_removes_the_temp_file(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "s.lock"
    path.write_bytes(b"old")

    def broken(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        atomic_write(path, b"new")
    assert path.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.lock"]


def test_corrupt_json_is_located_and_the_file_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    path.write_bytes(b'{\n  "version": 1,\n  "videos": {\n    "a": {"status": }\n')
    before = path.read_bytes()
    with pytest.raises(LockfileError) as info:
        read_lock(path)
    message = str(info.value)
    assert message.startswith(f"{path}:4:")
    assert "corrupt lockfile" in message and "git checkout" in message
    assert path.read_bytes() == before


def test_newer_version_says_upgrade(tmp_path: Path) -> None:
    with pytest.raises(LockfileError, match=r"upgrade reelform.*not modified"):
        parse_lock(b'{"version": 2, "videos": {}}', tmp_path / "s.lock")


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b'{"videos": {}}', "not a reelform lockfile (no version)"),
        (b"[1, 2]", "not a reelform lockfile (an array, not an object)"),
        (b'{"version": "1"}', "lockfile version '1' is not a number"),
        (b'{"version": true}', "lockfile version True is not a number"),
        (b'{"version": 0}', "unknown lockfile version 0"),
        (b'{"version": 1, "videos": []}', "`videos` must be an object mapping names to records"),
        (b'{"version": 1, "videos": {"a": 1}}', 'videos["a"]: must be an object, not an integer'),
        (b'{"version": 1, "extras": {}, "zzz": 1}', "unknown sections extras, zzz"),
    ],
)
def test_malformed_lockfiles(tmp_path: Path, raw: bytes, message: str) -> None:
    with pytest.raises(LockfileError) as info:
        parse_lock(raw, tmp_path / "s.lock")
    assert message in str(info.value)


def test_unreadable_lockfile_is_a_lockfile_error(tmp_path: Path) -> None:
    (tmp_path / "s.lock").mkdir()
    with pytest.raises(LockfileError, match="cannot read the lockfile"):
        read_lock(tmp_path / "s.lock")


def test_many_entries_round_trip(tmp_path: Path) -> None:
    """Functional only (timings live in bench/): a few thousand records survive intact."""
    path = tmp_path / "s.lock"
    state = sample(3000)
    write_lock(path, state)
    again = read_lock(path)
    assert again.videos == state.videos
    assert dump_lock(again) == path.read_bytes()
    assert path.read_bytes().count(b"\n") == 3000 + 3 + 3 * 3 + 2


def test_an_empty_lockfile_is_corrupt_not_missing(tmp_path: Path) -> None:
    path = tmp_path / "s.lock"
    path.write_bytes(b"")
    with pytest.raises(LockfileError, match=r"s\.lock:1:1: corrupt lockfile"):
        read_lock(path)
    assert path.read_bytes() == b""


#: Fields whose types the reader checks (tests/cli/test_cli_malformed_state.py covers
#: them); any other field of any JSON type must round-trip untouched.
CHECKED = {name for fields in FIELDS.values() for name in fields}
RECORD = st.dictionaries(
    st.text(max_size=8).filter(lambda name: name not in CHECKED),
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**12), 10**12),
        st.text(max_size=12),
        st.lists(st.integers(-(2**63), 2**63 - 1), max_size=3),
    ),
    max_size=4,
)
SECTION = st.dictionaries(st.text(max_size=10), RECORD, max_size=6)


@settings(max_examples=60, deadline=None)
@given(SECTION, SECTION, st.randoms(use_true_random=False))
def test_round_trip_and_order_independence(videos, uploads, rnd) -> None:
    import json

    records = {key: VideoRecord.from_json(record) for key, record in videos.items()}
    hosted = {key: UploadRecord.from_json(record) for key, record in uploads.items()}
    state = LockState(videos=records, uploads=hosted)
    items = list(records.items())
    rnd.shuffle(items)
    shuffled = LockState(videos=dict(items), uploads=hosted)
    data = dump_lock(state)
    assert data == dump_lock(shuffled)
    again = parse_lock(data, Path("s.lock"))
    assert (again.videos, again.uploads) == (records, hosted)
    assert json.loads(data)["videos"] == videos


def test_fields_this_version_does_not_know_are_left_alone(tmp_path: Path) -> None:
    """A field may be a newer reelform's (one older versions can ignore): not an error."""
    raw = b'{"version": 1, "videos": {"a": {"status": "completed", "cover": [1], "x": {}}}}'
    assert parse_lock(raw, tmp_path / "s.lock").videos["a"].extra == {"cover": [1], "x": {}}
