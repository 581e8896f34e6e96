"""One video's failure is that video's alone, and no wait leaves an unknown behind.

docs/design.md, "Never pay twice": an exception in one video's work (any exception)
fails that video with a clear reason and never cancels the others; the journal is
folded into the lockfile before apply reports (a bug still exits 3, after that);
and everything a submit waits for comes before its intent, so a kill during a 429's
backoff leaves a video to create, not an unknown one (a kill during speech synthesis:
test_intent_timing.py).
"""

from __future__ import annotations

import errno
import json
import re
import signal
import time
from typing import Any

import pytest
from applykit import (
    InProcess,
    Project,
    SimServer,
    run_cli,
    start_cli,
)

from reelform.errors import ConfigError
from reelform.providers.base import VideoJob
from reelform.providers.jogg import JoggProvider
from reelform.state.journal import Journal
from reelform.state.records import Record, VideoRecord


def test_a_bug_in_one_video_fails_it_alone_and_exits_3_after_the_journal_is_safe(
    cli: InProcess, sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = JoggProvider.request_body

    def buggy(self: JoggProvider, job: VideoJob) -> dict[str, Any]:
        if job.name == "v2":
            raise KeyError("a bug in the request")
        return real(self, job)

    monkeypatch.setattr(JoggProvider, "request_body", buggy)
    project.jogg_spec(4)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 3, result.text
    assert "Traceback" in result.err and "KeyError" in result.err
    assert "internal error: KeyError" in result.out  # the summary names it
    assert not (project.root / "spec.lock.journal").exists()  # folded before exiting
    videos = project.lock().videos
    assert {n: e.status for n, e in videos.items() if n != "v2"} == dict.fromkeys(
        ("v1", "v3", "v4"), "completed"
    )
    # The bug struck between the intent and the answer: nobody knows, so unknown.
    assert videos["v2"].status == "unknown"


def test_a_user_error_in_one_video_is_exit_1_with_its_message_not_a_bug(
    cli: InProcess, sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = JoggProvider.request_body

    def refusing(self: JoggProvider, job: VideoJob) -> dict[str, Any]:
        if job.name == "v1":
            raise ConfigError("jogg: a setting this video needs is missing")
        return real(self, job)

    monkeypatch.setattr(JoggProvider, "request_body", refusing)
    project.jogg_spec(2)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert "Traceback" not in result.text
    assert "v1 (spec.yaml): jogg: a setting this video needs is missing" in result.out
    assert project.lock().videos["v2"].status == "completed"


def test_no_space_for_one_intent_fails_that_video_only_and_sends_nothing_for_it(
    cli: InProcess, sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = Journal.record

    def full_disk(self: Journal, section: str, key: str, value: Record | None, **kw: Any) -> None:
        if key == "v3" and isinstance(value, VideoRecord) and value.status == "submitting":
            raise OSError(errno.ENOSPC, "No space left on device", str(self.path))
        real(self, section, key, value, **kw)

    monkeypatch.setattr(Journal, "record", full_disk)
    project.jogg_spec(3)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text  # the environment, not a bug
    assert "Traceback" not in result.text
    assert re.search(r"v3 \(spec.yaml\): .*No space left on device", result.out), result.out
    assert {n: e.status for n, e in project.lock().videos.items()} == {
        "v1": "completed",
        "v2": "completed",
    }
    names = [r.json["video_name"] for r in sim.creates()]
    assert len(names) == 2 and not any(n.startswith("v3 ") for n in names)


def plan_actions(project: Project, env: dict[str, str]) -> dict[str, str]:
    result = run_cli(["plan", "--json", "spec.yaml"], env, project.root)
    assert result.code == 0, result.text
    [spec] = json.loads(result.out)["specs"]
    return {item["name"]: item["action"] for item in spec["items"]}


def kill_when(process: Any, seen: Any, timeout: float = 20.0, grace: float = 0.0) -> None:
    """SIGKILL ``process`` once ``seen()`` holds, ``grace`` seconds later."""
    deadline = time.monotonic() + timeout
    while not seen() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.01)
    assert seen(), "the fault never happened"
    time.sleep(grace)
    assert process.poll() is None, "apply ended before the kill"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)


def test_a_kill_during_a_429_backoff_leaves_videos_to_create_not_unknown(
    sim: SimServer, project: Project
) -> None:
    # The first create goes through; every later POST is answered 429 with a long
    # Retry-After (120 provider seconds, 6 s at this scale): apply is then waiting.
    sim.config.burst_429_every = 1
    sim.config.burst_429_length = 1000
    sim.config.retry_after_seconds = 120
    project.jogg_spec(3)
    env = sim.env(REELFORM_TIME_SCALE="0.05")
    process = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    # 2 s after the second 429: the client has read both answers (a kill before that
    # is a kill mid-request, rightly unknown) and sleeps in a 6 s backoff.
    kill_when(process, lambda: sum(r.status == 429 for r in sim.requests()) >= 2, grace=2.0)
    actions = plan_actions(project, env)
    # The one that went through is done (or resumed); the two in backoff were never
    # taken: nothing about them is unknown.
    assert sorted(a for a in actions.values() if a != "resume") == ["create", "create"], actions
