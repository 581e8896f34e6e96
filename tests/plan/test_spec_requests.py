"""The videos' keys made on two cores are the keys one process makes, and the plan
they decide is the full path's (spec_requests.py, project.plan_prepared).

Real forks, on a small project: the size above which the keys are split is lowered
for these tests, and the state is summarized by the preload child as for a large
lockfile."""

from __future__ import annotations

import dataclasses
import os
import time
from pathlib import Path

import pytest

from reelform import forked, project, spec_requests
from reelform.plan.diff import SpecPlan
from reelform.plan.fingerprint import Request, requests_for
from reelform.plan.unchanged import keys_of
from reelform.state import preload
from reelform.state.lock_source import LockSource
from reelform.state.lockfile import LockState, read_lock, write_lock
from reelform.state.records import Status, VideoOutput, VideoRecord

ROWS = 41  # an odd number: the halves differ in size

SPEC = """\
version: 1
name: two-cores
output: out
data: {people: people.csv}
defaults: {avatar: {id: 1}, voice: {voice_id: en}, captions: true}
videos:
  - name: "hello-{{ row.id }}"
    for_each: people
    title: "Hello {{ row.first }}"
    voice: {script: "Hi {{ row.first }}, your plan is {{ row.plan }}."}
"""


@pytest.fixture(autouse=True)
def small_is_large(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(spec_requests, "TWO_CORES_MIN_VIDEOS", 2)
    monkeypatch.setattr(preload, "PRELOAD_MIN_BYTES", 0)


def made_project(root: Path) -> Path:
    """A project whose every video is completed, with its output file in place."""
    (root / "people.csv").write_text(
        "id,first,plan\n"
        + "".join(f"{i},Person{i},{'pro' if i % 3 else 'team'}\n" for i in range(ROWS))
    )
    spec = root / "spec.yaml"
    spec.write_text(SPEC)
    prepared = project.prepare(spec)
    (root / "out").mkdir()
    lock = LockState()
    for request in prepared.requests:
        path = root / "out" / f"{request.name}.mp4"
        path.write_bytes(b"video")
        lock.videos[request.name] = VideoRecord(
            fingerprint=request.fingerprint,
            key=request.key,
            inputs=request.inputs,
            provider=request.provider,
            job_id="j-" + request.name,
            status=Status.COMPLETED,
            output=VideoOutput(
                path=f"out/{request.name}.mp4",
                sha256="0" * 64,
                bytes=5,
                mtime_ns=path.stat().st_mtime_ns,
            ),
        )
    write_lock(prepared.spec.lock_path, lock)
    return spec


def serial(prepared: project.Prepared) -> list[Request]:
    return requests_for(prepared.spec, prepared.facts)


def test_the_keys_and_requests_are_one_process_s(tmp_path: Path) -> None:
    prepared = project.prepare(made_project(tmp_path))
    keys = prepared.made.keys()
    assert len(prepared.made._head) == ROWS // 2  # the first half made here, kept
    assert keys == keys_of(serial(prepared))
    assert prepared.requests == serial(prepared)  # the kept half and the rest
    assert prepared.made.keys() is keys  # made once


def test_the_kept_half_is_not_made_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    prepared = project.prepare(made_project(tmp_path))
    prepared.made.keys()
    asked: list[int] = []
    real = spec_requests.requests_for

    def counted(spec, facts, videos=None):  # type: ignore[no-untyped-def]
        asked.append(len(spec.videos if videos is None else videos))
        return real(spec, facts, videos)

    monkeypatch.setattr(spec_requests, "requests_for", counted)
    assert prepared.requests == serial(prepared)
    assert asked == [ROWS - ROWS // 2]


def test_a_child_that_fails_leaves_the_work_to_this_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = project.prepare(made_project(tmp_path))
    parent = os.getpid()
    real = spec_requests.requests_for

    def failing_in_the_child(spec, facts, videos=None):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            raise MemoryError("the child ran out")
        return real(spec, facts, videos)

    monkeypatch.setattr(spec_requests, "requests_for", failing_in_the_child)
    assert prepared.made.keys() == keys_of(serial(prepared))
    assert prepared.requests == serial(prepared)


def test_without_a_fork_one_process_makes_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    prepared = project.prepare(made_project(tmp_path))
    monkeypatch.setattr(spec_requests, "can_fork", lambda: False)  # a thread, or no fork
    assert prepared.made.keys() == keys_of(serial(prepared))
    assert prepared.made._head == []


def full_path(prepared: project.Prepared) -> project.Prepared:
    """The same spec without the summary: the plan is the full diff's."""
    return dataclasses.replace(
        prepared,
        lock_source=LockSource.of(read_lock(prepared.spec.lock_path)),
    )


def without_requests(plan: SpecPlan) -> SpecPlan:
    return dataclasses.replace(plan, requests={})


def test_a_no_op_plan_from_the_keys_is_the_full_path_s(tmp_path: Path) -> None:
    prepared = project.prepare(made_project(tmp_path))
    assert prepared.summary is not None
    plan = project.plan_prepared(prepared, for_apply=False)
    assert plan.requests == {}  # printed or saved, never applied: none were made
    assert prepared.made._all is None
    full = project.plan_prepared(full_path(prepared))
    assert plan.unchanged == ROWS and not plan.items
    assert plan == without_requests(full)


@pytest.mark.parametrize("changed", [0, ROWS // 2 - 1, ROWS // 2, ROWS - 1])
def test_a_change_in_either_half_plans_in_full(tmp_path: Path, changed: int) -> None:
    """The video whose record differs is in the first half, at its end, at the start
    of the second half, or last: the plan is the full diff's, with its requests."""
    spec = made_project(tmp_path)
    lock = read_lock(spec.with_suffix(".lock"))
    name = f"hello-{changed}"
    lock.videos[name] = dataclasses.replace(lock.videos[name], fingerprint="f" * 64)
    write_lock(spec.with_suffix(".lock"), lock)
    prepared = project.prepare(spec)
    plan = project.plan_prepared(prepared, for_apply=False)
    full = project.plan_prepared(full_path(prepared))
    assert [(i.action.value, i.name) for i in plan.items] == [("replace", name)]
    assert plan == full
    assert plan.requests == full.requests and len(plan.requests) == ROWS


def test_a_first_half_that_disagrees_ends_the_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second half is not waited for: its child is killed and reaped."""
    prepared = project.prepare(made_project(tmp_path))
    children: list[int] = []

    class Recorded(spec_requests.Forked):  # type: ignore[type-arg]
        def __init__(self, work) -> None:  # type: ignore[no-untyped-def]
            super().__init__(work)
            children.append(self._pid)

    monkeypatch.setattr(spec_requests, "Forked", Recorded)
    monkeypatch.setattr(spec_requests, "CHECK_EVERY", 5)
    assert prepared.made.keys(accept=lambda keys: False) is None
    assert len(prepared.made._head) == 5  # the first step failed: no more was made
    [child] = children
    deadline = time.monotonic() + 10
    while _state(child) not in ("Z", None):  # killed; its exit takes the kernel a moment
        assert time.monotonic() < deadline, "the child was not killed"
        time.sleep(0.01)
    forked._reap()  # as the next fork does: collected, no zombie left behind
    assert _state(child) is None
    assert prepared.made.keys() == keys_of(serial(prepared))  # asked again: all of them
    assert prepared.requests == serial(prepared)  # the first step kept, the rest made


def _state(pid: int) -> str | None:
    """A process's state letter (R, S, Z...), None when there is no such process."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def test_a_state_that_cannot_be_unchanged_needs_no_second_core(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A video not completed, or one more or fewer than the spec's: the summary alone
    says the plan is not a no-op, so no keys are made on two cores."""
    spec = made_project(tmp_path)
    lock = read_lock(spec.with_suffix(".lock"))
    lock.videos["hello-3"] = dataclasses.replace(lock.videos["hello-3"], status=Status.FAILED)
    write_lock(spec.with_suffix(".lock"), lock)
    forks: list[object] = []
    monkeypatch.setattr(spec_requests, "Forked", lambda work: forks.append(work))
    prepared = project.prepare(spec)
    plan = project.plan_prepared(prepared, for_apply=False)
    assert forks == []
    assert [(i.action.value, i.name) for i in plan.items] == [("retry", "hello-3")]
    assert plan == project.plan_prepared(full_path(prepared))
