"""OutputFolder gives file_status's answer for every kind of output record, on real
files: the no-op plan's 100,000 stats go through it (state/outputs.py)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from reelform.state.outputs import OutputFolder, OutputStatus, file_status


def _record(path: Path) -> tuple[int, int, str]:
    facts = path.stat()
    return facts.st_size, facts.st_mtime_ns, hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "out" / "nested").mkdir(parents=True)
    for relative in ("out/a.mp4", "out/nested/b.mp4", "top.mp4"):
        (tmp_path / relative).write_bytes(b"video " + relative.encode())
    (tmp_path / "out" / "plain-file").write_bytes(b"not a folder")
    return tmp_path


def cases(folder: Path) -> list[tuple[str | None, int | None, int | None, str | None]]:
    size, mtime, sha = _record(folder / "out" / "a.mp4")
    nested = _record(folder / "out" / "nested" / "b.mp4")
    top = _record(folder / "top.mp4")
    moved = folder / "out" / "touched.mp4"
    moved.write_bytes(b"same bytes")
    touched = _record(moved)
    os.utime(moved, ns=(touched[1] + 10**9, touched[1] + 10**9))  # content kept, mtime moved
    return [
        ("out/a.mp4", size, mtime, sha),  # intact
        ("out/nested/b.mp4", *nested),  # a folder below the output folder
        ("top.mp4", *top),  # in the spec's folder itself
        (str(folder / "top.mp4"), *top),  # an absolute path
        ("out/../top.mp4", *top),  # through ..
        ("out/touched.mp4", *touched),  # mtime moved, same sha256: intact
        ("out/touched.mp4", touched[0], touched[1], "0" * 64),  # mtime moved, other bytes
        ("out/a.mp4", size + 1, mtime, sha),  # another size
        ("out/gone.mp4", size, mtime, sha),  # no such file
        ("missing-folder/a.mp4", size, mtime, sha),  # no such folder
        ("out/plain-file/a.mp4", size, mtime, sha),  # a file where the folder should be
        ("out/nested", 0, 0, None),  # a folder where the file should be
        ("out/a\x00.mp4", size, mtime, sha),  # a NUL (a hand-edited lockfile): no file
        ("ou\x00t/a.mp4", size, mtime, sha),  # a NUL in the folder's name
        ("", size, mtime, sha),  # no path
        (None, size, mtime, sha),
    ]


def test_the_same_answer_as_file_status(folder: Path) -> None:
    records = cases(folder)
    expected = [file_status(str(folder), *record) for record in records]
    with OutputFolder(str(folder)) as outputs:
        got = [outputs.status(*record) for record in records]
        again = [outputs.status(*record) for record in records]  # descriptors reused
    assert got == expected == again
    # The cases mean what they say: not every answer is the same one.
    assert expected[:6] == [OutputStatus.OK] * 6
    assert expected[6:8] == [OutputStatus.CHANGED] * 2
    assert OutputStatus.MISSING in expected[8:]


def test_descriptors_are_closed(folder: Path) -> None:
    before = len(os.listdir("/proc/self/fd"))
    with OutputFolder(str(folder)) as outputs:
        for name in ("out/a.mp4", "out/nested/b.mp4", "top.mp4"):
            outputs.status(name, 0, 0, None)
        assert len(os.listdir("/proc/self/fd")) > before
    assert len(os.listdir("/proc/self/fd")) == before


def test_a_folder_made_after_it_was_looked_for(folder: Path) -> None:
    """A folder missing when first looked for: its files are missing, and once it is
    made they are found (by their full path: no descriptor was had), never an error."""
    with OutputFolder(str(folder)) as outputs:
        assert outputs.status("later/a.mp4", 1, 1, None) is OutputStatus.MISSING
        (folder / "later").mkdir()
        (folder / "later" / "a.mp4").write_bytes(b"x")
        assert outputs.status("later/a.mp4", 1, 0, None) is OutputStatus.CHANGED
