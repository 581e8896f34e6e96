"""The lockfile read on a second core (state/preload.py) gives exactly the plan the
sequential read gives, in every case, and errors the same way."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from reelform import project
from reelform.errors import LockfileError
from reelform.plan.show import plan_json
from reelform.state import preload
from reelform.state.lockfile import LockState, read_lock, write_lock
from reelform.state.records import FileRecord, Status, VideoOutput, VideoRecord

SPEC = """\
version: 1
output: out
data:
  people: people.csv
defaults: {voice: {voice_id: en}}
videos:
  - name: "hello-{{ row.id }}"
    for_each: people
    voice: {script: "Hi {{ row.name }}"}
"""


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    (tmp_path / "people.csv").write_text("id,name\n" + "".join(f"{i},P{i}\n" for i in range(40)))
    path = tmp_path / "s.yaml"
    path.write_text(SPEC)
    prepared = project.prepare(path)
    (tmp_path / "out").mkdir()
    lock = LockState()
    for request in prepared.requests:
        output = tmp_path / "out" / f"{request.name}.mp4"
        output.write_bytes(b"video")
        lock.videos[request.name] = VideoRecord(
            fingerprint=request.fingerprint,
            inputs=request.inputs,
            status=Status.COMPLETED,
            provider="local",
            output=VideoOutput(
                path=f"out/{request.name}.mp4",
                bytes=5,
                mtime_ns=output.stat().st_mtime_ns,
                sha256="x" * 64,
            ),
        )
    write_lock(prepared.spec.lock_path, lock)
    return path


def plans(spec: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Any, Any, bool]:
    """(plan with the preload, plan without it, whether the preload ran)."""
    monkeypatch.setattr(preload, "PRELOAD_MIN_BYTES", 1)
    fast = project.prepare(spec)
    with_preload = plan_json([project.plan_prepared(fast)])
    monkeypatch.setattr(preload, "PRELOAD_MIN_BYTES", 10**12)
    slow = project.prepare(spec)
    assert slow.summary is None
    return with_preload, plan_json([project.plan_prepared(slow)]), fast.summary is not None


def edit_lock(spec: Path, change: Callable[[LockState], None]) -> None:
    lock_path = spec.with_suffix(".lock")
    state = read_lock(lock_path)
    change(state)
    write_lock(lock_path, state)


def edit_video(spec: Path, name: str, **changes: Any) -> None:
    def change(state: LockState) -> None:
        state.videos[name] = replace(state.videos[name], **changes)

    edit_lock(spec, change)


CASES: dict[str, Callable[[Path], None]] = {
    "nothing changed": lambda spec: None,
    "a changed script": lambda spec: spec.write_text(SPEC.replace("Hi ", "Hello ")),
    "a missing output": lambda spec: (spec.parent / "out" / "hello-3.mp4").unlink(),
    "a changed output": lambda spec: (spec.parent / "out" / "hello-4.mp4").write_bytes(b"other"),
    "an orphan": lambda spec: edit_lock(
        spec,
        lambda s: s.videos.update(
            {"gone": VideoRecord(fingerprint="f", status=Status.COMPLETED, provider="local")}
        ),
    ),
    "a failed video": lambda spec: edit_video(spec, "hello-5", status=Status.FAILED, error="boom"),
    "a submitted video": lambda spec: edit_video(
        spec, "hello-6", status=Status.SUBMITTED, job_id="j"
    ),
}


@pytest.mark.parametrize("case", CASES)
def test_the_preloaded_plan_is_the_sequential_plan(
    spec: Path, case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    CASES[case](spec)
    with_preload, without, ran = plans(spec, monkeypatch)
    assert ran
    assert with_preload == without
    assert with_preload["changes"] == (case != "nothing changed")


def test_a_corrupt_lockfile_is_reported_as_without_the_preload(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec.with_suffix(".lock").write_text('{"version": 1, "videos": {')
    monkeypatch.setattr(preload, "PRELOAD_MIN_BYTES", 1)
    with pytest.raises(LockfileError, match="corrupt lockfile"):
        project.prepare(spec)


def test_the_videos_are_read_only_when_someone_asks(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preload, "PRELOAD_MIN_BYTES", 1)
    prepared = project.prepare(spec)
    assert prepared.summary is not None
    assert not prepared.lock_source.loaded
    assert project.plan_prepared(prepared).unchanged == 40  # from the summary alone
    assert not prepared.lock_source.loaded
    assert prepared.lock.videos["hello-1"].status is Status.COMPLETED
    assert prepared.lock_source.loaded
    assert prepared.lock.digest == read_lock(spec.with_suffix(".lock")).digest


def test_reading_the_videos_later_keeps_changes_made_before(
    spec: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(preload, "PRELOAD_MIN_BYTES", 1)
    source = project.prepare(spec).lock_source
    source.files["assets/a.wav"] = FileRecord(sha256="s", size=1, mtime_ns=1)
    assert not source.loaded
    assert len(source.state.videos) == 40  # read now, after the change
    assert source.state.files["assets/a.wav"].sha256 == "s"
