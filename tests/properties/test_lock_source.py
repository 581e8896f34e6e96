"""The deferred lockfile (state/lock_source.py) is the lockfile read in full.

Hypothesis writes a lockfile (files, uploads, photo avatars and videos in many
states, some outputs on disk) and often a journal after it (changes, deletions,
a torn last line). The forked child of ``preload.py`` summarizes it as `plan`
does; the ``LockSource`` made from that summary must give, before reading
anything more, the ``files`` and digest ``read_lock`` gives, and then a state
equal to ``read_lock`` of the same files.

Checked able to fail, by breaking ``LockSource`` on purpose one way at a time:
``state`` taking ``avatars`` from the summary's ``files``, or the digest "", or
dropping the uploads; ``digest`` cut short before or after the read. Each
failed within a few examples.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from reelform.state.lock_source import LockSource
from reelform.state.lockfile import LockState, journal_path, read_lock, write_lock
from reelform.state.preload import Preload, summarize
from reelform.state.records import AvatarRecord, FileRecord, UploadRecord, VideoRecord

PROPERTY = settings(max_examples=120, deadline=None)

KEYS = st.text(st.sampled_from("ab-1é中 /."), min_size=1, max_size=6)
HEX = st.text(st.sampled_from("0123456789abcdef"), min_size=1, max_size=8)
STATUS = st.sampled_from(["completed", "submitted", "submitting", "failed", "unknown", "odd"])
OUTPUT = st.fixed_dictionaries(
    {"path": st.sampled_from(["out/a.mp4", "out/b.mp4", "out/none.mp4"])},
    optional={"bytes": st.integers(0, 9), "mtime_ns": st.integers(0, 10), "sha256": HEX},
)
VIDEO = st.fixed_dictionaries(
    {"fingerprint": HEX, "status": STATUS},
    optional={
        "provider": st.sampled_from(["local", "jogg", "mirako"]),
        "inputs": st.dictionaries(KEYS, KEYS, max_size=2),
        "job_id": st.none() | HEX,
        "error": st.none() | KEYS,
        "output": OUTPUT,
    },
)
AVATAR = st.fixed_dictionaries(
    {"fingerprint": HEX, "status": STATUS},
    optional={"inputs": st.dictionaries(KEYS, KEYS, max_size=2), "motion_id": st.none() | HEX},
)
FILE = st.fixed_dictionaries(
    {"sha256": HEX, "size": st.integers(0, 10**6), "mtime_ns": st.integers(0, 10**18)}
)
UPLOAD = st.fixed_dictionaries({"url": st.just("https://cdn.example/") | KEYS})
RECORDS = {"files": FILE, "uploads": UPLOAD, "avatars": AVATAR, "videos": VIDEO}
STATES = st.builds(
    LockState,
    files=st.dictionaries(KEYS, FILE.map(FileRecord.from_json), max_size=3),
    uploads=st.dictionaries(KEYS, UPLOAD.map(UploadRecord.from_json), max_size=3),
    avatars=st.dictionaries(KEYS, AVATAR.map(AvatarRecord.from_json), max_size=3),
    videos=st.dictionaries(KEYS, VIDEO.map(VideoRecord.from_json), max_size=6),
)
CHANGES = st.lists(
    st.sampled_from(sorted(RECORDS)).flatmap(
        lambda section: st.tuples(st.just(section), KEYS, st.none() | RECORDS[section])
    ),
    max_size=5,
)


def journal_bytes(changes: list[tuple[str, str, dict[str, Any] | None]], torn: bool) -> bytes:
    lines = b"".join(orjson.dumps({"s": s, "k": k, "v": v}) + b"\n" for s, k, v in changes)
    return lines + (b'{"s": "videos", "k": "half' if torn else b"")


@PROPERTY
@given(STATES, st.none() | CHANGES, st.booleans(), st.booleans())
def test_the_deferred_state_is_the_lockfile_read_in_full(
    state: LockState,
    changes: list[tuple[str, str, dict[str, Any] | None]] | None,
    torn: bool,
    outputs: bool,
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        lock_path = root / "spec.lock"
        write_lock(lock_path, state)
        if changes is not None:
            journal_path(lock_path).write_bytes(journal_bytes(changes, torn))
        if outputs:  # some videos' outputs exist, so the summary says intact for some
            (root / "out").mkdir()
            (root / "out" / "a.mp4").write_bytes(b"12345")
        expected = read_lock(lock_path)

        summary = Preload(lock_path, root).result()  # the forked child, as `prepare` runs it
        assert summary == summarize(expected, root)
        source = LockSource.summarized(lock_path, summary)
        assert source.files == expected.files
        assert source.digest == expected.digest
        assert not source.loaded
        assert source.state == expected
        assert source.loaded
        assert source.state is source.state  # read once
        assert (source.files, source.digest) == (expected.files, expected.digest)

        assert LockSource.of(expected).state is expected
