"""Saved plans, --target, --replace, --prune, --max-credits, --yes, and the apply lock."""

from __future__ import annotations

import json
import signal
import socket
import time

import pytest
from applykit import InProcess, Project, SimServer, run_cli, start_cli

from reelform.state.lock import pid_path

# --- saved plans ----------------------------------------------------------------------


def test_a_saved_plan_is_applied_exactly(cli: InProcess, sim: SimServer, project: Project) -> None:
    project.jogg_spec(3)
    assert cli("apply", "--yes", "--target", "v1", "spec.yaml").code == 0
    project.jogg_spec(5)
    plan = cli("plan", "--json", "--out", "reviewed.plan", "spec.yaml")
    assert plan.code == 0, plan.text
    planned = {i["name"]: i["action"] for i in json.loads(plan.out)["specs"][0]["items"]}
    assert planned == {f"v{i}": "create" for i in (2, 3, 4, 5)}
    before = sim.mark()
    result = cli("apply", "--yes", "reviewed.plan")
    assert result.code == 0, result.text
    created = sorted(r.json["video_name"].split(" ")[0] for r in sim.creates(before))
    assert created == ["v2", "v3", "v4", "v5"]
    assert {e.status for e in project.lock().videos.values()} == {"completed"}


def test_a_saved_plan_of_another_target_applies_only_that(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(4)
    assert cli("plan", "--target", "v[12]", "--out", "some.plan", "spec.yaml").code == 0
    result = cli("apply", "--yes", "some.plan")
    assert result.code == 0, result.text
    assert sorted(project.lock().videos) == ["v1", "v2"]


def test_a_stale_saved_plan_is_refused(cli: InProcess, sim: SimServer, project: Project) -> None:
    project.jogg_spec(3)
    assert cli("plan", "--out", "old.plan", "spec.yaml").code == 0
    project.jogg_spec(4)  # the spec changed since the plan was made
    result = cli("apply", "--yes", "old.plan")
    assert result.code == 1
    assert "stale plan" in result.err and "make a new plan" in result.err, result.err
    assert sim.posts() == [] and not (project.root / "spec.lock").exists()

    project.jogg_spec(3)
    assert cli("plan", "--out", "old.plan", "spec.yaml").code == 0
    assert cli("apply", "--yes", "--target", "v1", "spec.yaml").code == 0  # lockfile moves on
    before = sim.mark()
    result = cli("apply", "--yes", "old.plan")
    assert result.code == 1
    assert "stale plan" in result.err and "spec.lock changed" in result.err, result.err
    assert sim.posts(before) == []


# --- selecting and forcing --------------------------------------------------------------


def test_target_applies_only_matching_videos(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(12)
    result = cli("apply", "--yes", "--target", "v1?", "--target", "v3", "spec.yaml")
    assert result.code == 0, result.text
    assert sorted(project.lock().videos) == ["v10", "v11", "v12", "v3"]
    assert len(sim.creates()) == 4


def test_replace_renders_an_unchanged_video_again(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(3)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    old = project.lock().videos["v2"]
    before = sim.mark()
    result = cli("apply", "--yes", "--replace", "v2", "spec.yaml")
    assert result.code == 0, result.text
    assert [r.json["video_name"] for r in sim.creates(before)] == [f"v2 [{old.key}]"]
    new = project.lock().videos["v2"]
    assert new.status == "completed" and new.job_id != old.job_id
    assert (project.root / new.output.path).is_file()


def test_prune_removes_orphans_and_nothing_else(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(4)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    lock = project.lock()
    project.write("data/spec.csv", "id,text\n1,Hello number 1\n2,Hello number 2\n")
    kept = {p.name: p.read_bytes() for p in project.outputs()}

    without = cli("apply", "--yes", "spec.yaml")
    assert without.code == 0, without.text
    assert "2 orphans left" in without.out
    assert sorted(project.lock().videos) == ["v1", "v2", "v3", "v4"]
    assert len(project.outputs()) == 4

    before = sim.mark()
    pruned = cli("apply", "--yes", "--prune", "spec.yaml")
    assert pruned.code == 0, pruned.text
    assert sim.requests(before) == []
    after = project.lock()
    assert sorted(after.videos) == ["v1", "v2"]
    assert after.videos["v1"] == lock.videos["v1"] and after.videos["v2"] == lock.videos["v2"]
    assert after.uploads == lock.uploads and after.files == lock.files
    assert {p.name: p.read_bytes() for p in project.outputs()} == {
        k: v for k, v in kept.items() if k in ("v1.mp4", "v2.mp4")
    }
    assert (project.root / "data/spec.csv").exists() and (project.root / "spec.yaml").exists()


def test_max_credits_refuses_before_anything_is_sent(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(5)
    result = cli("apply", "--yes", "--max-credits", "4", "spec.yaml")
    assert result.code == 1
    assert "5 JoggAI credits" in result.err and "--max-credits 4" in result.err, result.err
    assert sim.requests() == [] and not (project.root / "spec.lock").exists()
    assert cli("apply", "--yes", "--max-credits", "5", "spec.yaml").code == 0


def test_yes_is_required_when_stdin_is_not_a_terminal(sim: SimServer, project: Project) -> None:
    project.jogg_spec(2)
    result = run_cli(["apply", "spec.yaml"], sim.env(), project.root)
    assert result.code == 1
    assert "apply needs --yes when stdin is not a terminal" in result.err
    assert sim.requests() == [] and not (project.root / "spec.lock").exists()


# --- one apply at a time ----------------------------------------------------------------


def wait_for_holder(project: Project, pid: int) -> dict[str, object]:
    path = pid_path(project.root / "spec.lock")
    deadline = time.monotonic() + 30
    while True:
        try:
            info: dict[str, object] = json.loads(path.read_text())
            if info.get("pid") == pid:
                return info
        except (OSError, ValueError):
            pass
        assert time.monotonic() < deadline, "the first apply never took the lock"
        time.sleep(0.01)


def test_a_second_apply_stops_naming_the_holder_or_waits(sim: SimServer, project: Project) -> None:
    # Renders of an hour: the first apply outlasts the second's start-up however busy
    # the machine is (4 s once did not, under a full suite); then they are made done.
    sim.config.jogg_render_seconds = (3_600_000.0, 3_600_000.0)
    project.jogg_spec(3)
    env = sim.env()
    first = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    try:
        info = wait_for_holder(project, first.pid)
        second = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
        assert second.code == 1
        assert (
            f"another apply is running (pid {first.pid} on {socket.gethostname()} "
            f"since {info['since']})" in second.err
        ), second.err
        assert first.poll() is None
        deadline = time.monotonic() + 60
        while len(sim.sim.jobs) < 3:
            assert time.monotonic() < deadline and first.poll() is None
            time.sleep(0.05)
        for job in list(sim.sim.jobs.values()):  # done now, as far as the provider says
            job.started -= job.queue_seconds + job.render_seconds
        before = sim.mark()
        waiting = run_cli(["apply", "--yes", "--wait", "spec.yaml"], env, project.root)
        assert first.poll() == 0  # it waited for the first to finish
        assert waiting.code == 0, waiting.text
        assert sim.creates(before) == []  # and found nothing left to do
    finally:
        first.kill()
        first.wait()


def test_a_lock_left_by_a_killed_apply_is_taken_over(sim: SimServer, project: Project) -> None:
    sim.config.jogg_render_seconds = (1500.0, 1500.0)
    project.jogg_spec(3)
    env = sim.env()
    first = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    wait_for_holder(project, first.pid)
    deadline = time.monotonic() + 30
    while len(sim.creates()) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    time.sleep(0.1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    assert pid_path(project.root / "spec.lock").exists()  # the dead holder's file is left
    plan = run_cli(["plan", "spec.yaml"], env, project.root)
    assert plan.out.count("> resume") == 3, plan.out
    before = sim.mark()
    second = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    assert second.code == 0, second.text
    assert sim.creates(before) == []  # resumed by polling, not submitted again
    assert {e.status for e in project.lock().videos.values()} == {"completed"}
    assert not pid_path(project.root / "spec.lock").exists()


def test_resubmit_unknown_covers_a_submit_interrupted_by_a_crash(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """A `submitting` intent left by a crash: plain apply records it `unknown` and sends
    nothing; only `--resubmit-unknown` submits it (the person's decision)."""
    from dataclasses import replace

    from reelform.state.journal import compact
    from reelform.state.lockfile import read_lock, write_lock
    from reelform.state.records import Status

    project.jogg_spec(2)
    assert cli("apply", "--yes", "--target", "v1", "spec.yaml").code == 0
    plan = json.loads(cli("plan", "--json", "spec.yaml").out)
    [item] = plan["specs"][0]["items"]
    state = read_lock(project.root / "spec.lock")
    state.videos["v2"] = replace(
        state.videos["v1"],
        status=Status.SUBMITTING,
        key=item["key"],
        fingerprint=item["fingerprint"],
        job_id=None,
        output=None,
        completed_at=None,
    )
    write_lock(project.root / "spec.lock", state)
    compact(project.root / "spec.lock")
    # JoggAI cannot be asked which job it made: never "resume" (docs/design.md).
    shown = cli("plan", "spec.yaml").out
    assert "unknown" in shown and "resume" not in shown and "Estimate: 0 videos" in shown
    resubmit = cli("plan", "--resubmit-unknown", "spec.yaml").out
    assert "RESUBMIT" in resubmit and "Estimate: 1 video" in resubmit
    refused = cli("apply", "--yes", "--resubmit-unknown", "--max-credits", "0", "spec.yaml")
    assert refused.code == 1 and "--max-credits 0" in refused.err
    assert sim.creates(sim.mark()) == []

    before = sim.mark()
    plain = cli("apply", "--yes", "spec.yaml")
    assert plain.code == 1 and "unknown" in plain.out
    assert sim.creates(before) == []
    assert project.lock().videos["v2"].status == "unknown"
    again = cli("apply", "--yes", "--resubmit-unknown", "spec.yaml")
    assert again.code == 0, again.text
    assert len(sim.creates(before)) == 1
    assert project.lock().videos["v2"].status == "completed"


@pytest.mark.parametrize("stop", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_cleanly_and_the_next_apply_resumes(
    sim: SimServer, project: Project, stop: signal.Signals
) -> None:
    # SIGTERM too: `docker stop` and CI runners send it, and a runner's workspace
    # (with an unfolded journal) is thrown away after.
    sim.config.jogg_render_seconds = (1500.0, 1500.0)
    project.jogg_spec(3)
    env = sim.env()
    first = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    deadline = time.monotonic() + 30
    while len(sim.sim.jobs) < 3:
        assert time.monotonic() < deadline and first.poll() is None
        time.sleep(0.01)
    time.sleep(0.2)
    first.send_signal(stop)
    _out, err = first.communicate(timeout=30)
    assert first.returncode == 130, err
    assert "Traceback" not in err
    assert not (project.root / "spec.lock.journal").exists()  # folded into the lockfile
    assert {e.status for e in project.lock().videos.values()} == {"submitted"}
    before = sim.mark()
    second = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    assert second.code == 0, second.text
    assert sim.creates(before) == []


def test_events_go_to_the_journal_and_the_lockfile_is_written_once(
    sim: SimServer, project: Project
) -> None:
    """Per-event cost O(1): during a run only the journal grows; the lockfile is
    rewritten when the journal is folded in at the end."""
    project.jogg_spec(2)
    env = sim.env()
    assert run_cli(["apply", "--yes", "spec.yaml"], env, project.root).code == 0
    lock_path = project.root / "spec.lock"
    before = lock_path.read_bytes()
    sim.config.jogg_render_seconds = (1500.0, 1500.0)
    project.jogg_spec(6)
    process = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    journal = project.root / "spec.lock.journal"
    deadline = time.monotonic() + 30
    while (journal.read_bytes().count(b'"submitted"') if journal.exists() else 0) < 4:
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    assert lock_path.read_bytes() == before
    assert process.wait(timeout=60) == 0
    assert not journal.exists()
    assert set(project.lock().videos) == {f"v{i}" for i in range(1, 7)}


def test_a_lockfile_temp_left_by_a_kill_mid_write_is_removed(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(1)
    leftover = project.write(".spec.lock.k3x9q1.tmp", '{"version": 1, "vid')
    other = project.write(".other.lock.k3x9q1.tmp", "not ours")
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert not leftover.exists() and other.exists()


# --- --timeout --------------------------------------------------------------------------


def test_timeout_stops_submitting_and_waiting_and_the_next_apply_finishes(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    sim.config.jogg_render_seconds = (1500.0, 1500.0)  # 1.5 s here: no render ends soon
    project.jogg_spec(5)

    def outcomes(result_out: str) -> dict[str, str]:
        summary = result_out[result_out.index("Apply:") :]
        return {words[1]: words[0] for line in summary.splitlines()[1:] if (words := line.split())}

    # 500 provider seconds: time to send three renders, none to see them finish.
    first = cli("apply", "--yes", "--timeout", "500s", "--target", "v[1-3]", "spec.yaml")
    assert first.code == 1, first.text
    assert outcomes(first.out) == {"v1": "running", "v2": "running", "v3": "running"}
    assert "still rendering when --timeout ran out" in first.out
    assert {n: e.status for n, e in project.lock().videos.items()} == {
        "v1": "submitted",
        "v2": "submitted",
        "v3": "submitted",
    }

    # No time at all: the running ones are looked at once, the others never sent.
    before = sim.mark()
    second = cli("apply", "--yes", "--timeout", "0", "spec.yaml")
    assert second.code == 1, second.text
    assert outcomes(second.out) == {
        "v1": "running",
        "v2": "running",
        "v3": "running",
        "v4": "pending",
        "v5": "pending",
    }
    assert "not submitted: --timeout ran out first" in second.out
    assert sim.creates(before) == []
    assert set(project.lock().videos) == {"v1", "v2", "v3"}  # no intent for v4, v5

    plan = cli("plan", "--json", "spec.yaml")
    actions = {i["name"]: i["action"] for i in json.loads(plan.out)["specs"][0]["items"]}
    assert actions == {
        "v1": "resume",
        "v2": "resume",
        "v3": "resume",
        "v4": "create",
        "v5": "create",
    }

    before = sim.mark()
    third = cli("apply", "--yes", "spec.yaml")
    assert third.code == 0, third.text
    created = sorted(r.json["video_name"].split(" ")[0] for r in sim.creates(before))
    assert created == ["v4", "v5"]  # only what never left; nothing twice
    assert len(sim.creates()) == 5
    assert [p.name for p in project.outputs()] == [f"v{i}.mp4" for i in range(1, 6)]


def test_timeout_tells_a_changed_video_apart_from_a_running_one(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    # v1's old render is still running (`submitted`) when its script changes: with no
    # time left, the new render was never sent, so it is pending, not "still rendering".
    sim.config.jogg_render_seconds = (1500.0, 1500.0)
    project.jogg_spec(1)
    assert cli("apply", "--yes", "--timeout", "500s", "spec.yaml").code == 1
    assert project.lock().videos["v1"].status == "submitted"
    spec = project.root / "data/spec.csv"
    spec.write_text(spec.read_text().replace("Hello number 1", "Hello again"))
    result = cli("apply", "--yes", "--timeout", "0", "spec.yaml")
    assert result.code == 1, result.text
    assert "pending  v1 (spec.yaml): not submitted: --timeout ran out first" in result.out


def test_timeout_must_be_a_duration(cli: InProcess, sim: SimServer, project: Project) -> None:
    project.jogg_spec(1)
    for bad in ("soon", "5x", "", "h", "-3s", "1h30", "2m h"):
        result = cli("apply", "--yes", "--timeout", bad, "spec.yaml")
        assert result.code == 2 and "is not a duration" in result.err, (bad, result.text)
    assert sim.posts() == []


def test_durations() -> None:
    from reelform.commands.apply import parse_duration

    cases = {
        "90": 90.0,
        "90s": 90.0,
        "45m": 2700.0,
        "2h": 7200.0,
        "1h30m": 5400.0,
        "1.5h": 5400.0,
        " 10M ": 600.0,
        "1m30s": 90.0,
    }
    for text, seconds in cases.items():
        assert parse_duration(None, None, text) == seconds, text  # type: ignore[arg-type]
