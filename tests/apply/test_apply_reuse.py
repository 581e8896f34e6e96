"""Reuse, end to end: identical renders are paid for once (plan/reuse.py, apply/copies.py).

Real HTTP against the JoggAI simulator on loopback; its ledger (``sim.made``, what it
made and charged for) and request log are the witnesses that a copy made no create.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from applykit import VOICE, InProcess, Project, SimServer

#: The tests that matter most run on both state backends (lockfiles, PostgreSQL rows).
BOTH_BACKENDS = pytest.mark.usefixtures("state_backend")


def duplicated_spec(project: Project, name: str = "spec.yaml", texts: tuple[str, ...] = ()) -> Path:
    """One JoggAI video per CSV row; rows with the same text are the same render."""
    stem, folder = Path(name).stem, Path(name).parent
    texts = texts or ("Hello there", "Hello there", "Something else", "Hello there")
    rows = "id,text\n" + "".join(f"{i},{text}\n" for i, text in enumerate(texts, 1))
    project.write(str(folder / "data" / f"{stem}.csv"), rows)
    return project.write(
        name,
        f"""
        version: 1
        provider: jogg
        output: out/{stem}
        data: {{rows: data/{stem}.csv}}
        defaults:
          avatar: {{id: 81}}
          voice: {{voice_id: {VOICE}}}
        videos:
          - name: "v{{{{ row.id }}}}"
            for_each: rows
            voice: {{script: "{{{{ row.text }}}}"}}
        """,
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@BOTH_BACKENDS
def test_identical_rows_render_once(cli: InProcess, sim: SimServer, project: Project) -> None:
    duplicated_spec(project)
    planned = cli("plan", "--json", "spec.yaml")
    assert planned.code == 0, planned.text
    items = {i["name"]: i for i in json.loads(planned.out)["specs"][0]["items"]}
    assert {n: i["action"] for n, i in items.items()} == {
        "v1": "create",
        "v2": "copy",
        "v3": "create",
        "v4": "copy",
    }
    assert items["v2"]["copy_of"] == {"spec": "spec.yaml", "name": "v1"}

    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert len(sim.creates()) == 2, [r.path for r in sim.creates()]
    assert len(sim.sim.made) == 2
    out = project.root / "out" / "spec"
    assert sha(out / "v2.mp4") == sha(out / "v1.mp4") == sha(out / "v4.mp4")
    lock = project.lock()
    assert lock.videos["v2"].copied_from == {"spec": "spec.yaml", "name": "v1"}
    # The job that made its video (v1's): what a fresh URL is asked for with.
    assert lock.videos["v2"].job_id == lock.videos["v1"].job_id is not None
    again = cli("plan", "--detailed-exitcode", "spec.yaml")
    assert again.code == 0, again.text


def test_plan_text_shows_the_copy_and_its_source(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project)
    shown = cli("plan", "--detailed-exitcode", "spec.yaml")
    assert shown.code == 2, shown.text  # a copy is a change
    lines = [line.split() for line in shown.out.splitlines()]
    assert ["=", "copy", "v2", "jogg", "<-", "v1", "(rendered", "once,", "by", "this", "run)"] in (
        lines
    )
    assert "Plan: 2 to create, 2 to copy, 0 unchanged." in shown.out
    # Two renders of one short script each: 2 credits, not 4.
    assert "Estimate: 2 videos to render" in shown.out and "2 JoggAI credits" in shown.out
    markdown = cli("plan", "--format", "markdown", "spec.yaml")
    assert "| copy | 2 |" in markdown.out
    assert "| `=` copy | `v2` | jogg | <- v1 (rendered once, by this run) |" in markdown.out


@BOTH_BACKENDS
def test_a_new_row_equal_to_a_completed_one_is_copied_without_a_create(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, texts=("Hello there", "Something else"))
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert len(sim.sim.made) == 2
    duplicated_spec(project, texts=("Hello there", "Something else", "Something else"))
    before = sim.mark()
    shown = cli("plan", "spec.yaml")
    assert "= copy      v3" in shown.out and "<- v2" in shown.out, shown.out
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert sim.creates(before) == [] and sim.requests(before) == []  # a local file copy
    assert len(sim.sim.made) == 2
    out = project.root / "out" / "spec"
    assert sha(out / "v3.mp4") == sha(out / "v2.mp4")
    assert project.lock().videos["v3"].copied_from == {"spec": "spec.yaml", "name": "v2"}
    assert cli("plan", "--detailed-exitcode", "spec.yaml").code == 0


@BOTH_BACKENDS
def test_a_video_another_spec_of_the_repository_made_is_copied(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """On PostgreSQL too: the other spec's completed videos are read from the database
    (a copy across specs used to need `reelform state pull` first)."""
    (project.root / ".git").mkdir()  # the repository root, above both spec folders
    duplicated_spec(project, "team-a/first.yaml", texts=("Hello there", "Something else"))
    assert cli("apply", "--yes", "team-a/first.yaml").code == 0
    made = len(sim.sim.made)
    assert made == 2
    duplicated_spec(project, "team-b/second.yaml", texts=("Something else", "Brand new"))
    shown = cli("plan", "--json", "team-b/second.yaml")
    items = {i["name"]: i for i in json.loads(shown.out)["specs"][0]["items"]}
    assert items["v1"]["action"] == "copy"
    assert items["v1"]["copy_of"] == {"spec": "team-a/first.yaml", "name": "v2"}
    assert items["v2"]["action"] == "create"
    before = sim.mark()
    result = cli("apply", "--yes", "team-b/second.yaml")
    assert result.code == 0, result.text
    assert len(sim.creates(before)) == 1  # "Brand new" only
    assert len(sim.sim.made) == made + 1
    first = project.root / "team-a" / "out" / "first"
    second = project.root / "team-b" / "out" / "second"
    assert sha(second / "v1.mp4") == sha(first / "v2.mp4")
    record = project.lock("team-b/second.yaml").videos["v1"]
    assert record.copied_from == {"spec": "../team-a/first.yaml", "name": "v2"}
    # The neighbour's state is read, never written.
    assert project.lock("team-a/first.yaml").videos.keys() == {"v1", "v2"}
    assert cli("plan", "--detailed-exitcode", "team-b/second.yaml").code == 0


@BOTH_BACKENDS
def test_two_specs_of_one_run_render_a_shared_video_once(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, "a.yaml", texts=("Hello there",))
    duplicated_spec(project, "b.yaml", texts=("Hello there",))
    result = cli("apply", "--yes", "a.yaml", "b.yaml")
    assert result.code == 0, result.text
    assert len(sim.creates()) == 1 and len(sim.sim.made) == 1
    assert sha(project.root / "out/b/v1.mp4") == sha(project.root / "out/a/v1.mp4")
    assert project.lock("b.yaml").videos["v1"].copied_from == {"spec": "a.yaml", "name": "v1"}


def test_a_source_whose_file_is_gone_is_downloaded_from_the_provider(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, "a.yaml", texts=("Hello there",))
    assert cli("apply", "--yes", "a.yaml").code == 0
    original = sha(project.root / "out/a/v1.mp4")
    (project.root / "out/a/v1.mp4").unlink()
    duplicated_spec(project, "b.yaml", texts=("Hello there",))
    shown = cli("plan", "b.yaml")
    assert "<- a.yaml:v1 (its file is gone: downloaded from its provider again)" in shown.out
    before = sim.mark()
    result = cli("apply", "--yes", "b.yaml")
    assert result.code == 0, result.text
    assert sim.creates(before) == []  # downloaded, not rendered
    assert any(r.method == "GET" for r in sim.requests(before))
    assert sha(project.root / "out/b/v1.mp4") == original


def test_no_reuse_renders_every_row(cli: InProcess, sim: SimServer, project: Project) -> None:
    duplicated_spec(project)
    shown = cli("plan", "--no-reuse", "spec.yaml")
    assert "copy" not in shown.out and "Plan: 4 to create" in shown.out, shown.out
    result = cli("apply", "--yes", "--no-reuse", "spec.yaml")
    assert result.code == 0, result.text
    assert len(sim.creates()) == 4 and len(sim.sim.made) == 4
    assert all(r.copied_from is None for r in project.lock().videos.values())


def test_a_saved_plan_carries_its_copies_and_its_choice(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project)
    assert cli("plan", "--no-reuse", "--out", "norenew.plan", "spec.yaml").code == 0
    assert cli("plan", "--out", "reuse.plan", "spec.yaml").code == 0
    saved = json.loads((project.root / "reuse.plan").read_text())
    assert saved["summary"]["copy"] == 2 and saved["inputs"]["no_reuse"] is False
    assert json.loads((project.root / "norenew.plan").read_text())["inputs"]["no_reuse"] is True
    result = cli("apply", "--yes", "reuse.plan")
    assert result.code == 0, result.text
    assert len(sim.sim.made) == 2


def test_a_saved_plan_without_reuse_renders_every_row(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project)
    assert cli("plan", "--no-reuse", "--out", "saved.plan", "spec.yaml").code == 0
    result = cli("apply", "--yes", "saved.plan")  # fresh: planned without reuse again
    assert result.code == 0, result.text
    assert len(sim.sim.made) == 4


@BOTH_BACKENDS
@pytest.mark.sim(render_fail_rate=1.0)
def test_copies_of_a_failed_render_fail_with_its_reason_and_are_not_rendered(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, texts=("Hello there", "Hello there", "Hello there"))
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert len(sim.creates()) == 1  # the copies waited for it, and were not rendered
    lock = project.lock()
    assert lock.videos["v1"].status == "failed"
    assert "v2" not in lock.videos and "v3" not in lock.videos
    reason = lock.videos["v1"].error or ""
    assert f"failed   v2 (spec.yaml): its source v1 is failed: {reason}" in result.out
    # The next plan retries the render once and copies it again.
    again = json.loads(cli("plan", "--json", "spec.yaml").out)["specs"][0]["items"]
    assert {i["name"]: i["action"] for i in again} == {"v1": "retry", "v2": "copy", "v3": "copy"}


@pytest.mark.sim(signed_url_seconds=600.0)
def test_a_signed_source_url_is_asked_for_again_with_the_source_job(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, "a.yaml", texts=("Hello there",))
    assert cli("apply", "--yes", "a.yaml").code == 0
    source = project.lock("a.yaml").videos["v1"]
    assert source.output is not None and source.output.signed is True
    original = sha(project.root / "out/a/v1.mp4")
    (project.root / "out/a/v1.mp4").unlink()
    duplicated_spec(project, "b.yaml", texts=("Hello there",))
    before = sim.mark()
    result = cli("apply", "--yes", "b.yaml")
    assert result.code == 0, result.text
    assert sim.creates(before) == []
    reads = [r for r in sim.requests(before) if r.path.startswith("/jogg/v2/avatar_video/")]
    assert [r.path.rsplit("/", 1)[-1] for r in reads] == [source.job_id]  # a fresh URL
    assert sha(project.root / "out/b/v1.mp4") == original
    copy = project.lock("b.yaml").videos["v1"]
    assert copy.output is not None and copy.output.signed is True
    assert "X-Amz-Signature" not in (project.root / "b.lock").read_text()


def test_a_copy_with_no_way_to_its_video_fails_and_renders_nothing(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, "a.yaml", texts=("Hello there",))
    assert cli("apply", "--yes", "a.yaml").code == 0
    # The source's file was edited, and the video is gone from the provider's storage.
    (project.root / "out/a/v1.mp4").write_bytes(b"edited by hand")
    lock = json.loads((project.root / "a.lock").read_text())
    lock["videos"]["v1"]["output"]["url"] = f"{sim.base}/jogg/_files/gone.mp4"
    del lock["videos"]["v1"]["job_id"]
    (project.root / "a.lock").write_text(json.dumps(lock))
    duplicated_spec(project, "b.yaml", texts=("Hello there",))
    assert "<- a.yaml:v1 (its file is gone" in cli("plan", "b.yaml").out
    before = sim.mark()
    result = cli("apply", "--yes", "b.yaml")
    assert result.code == 1, result.text
    assert sim.creates(before) == []  # never rendered in its place
    assert "not copied from a.yaml:v1: its output file differs from its record, and " in (
        result.out
    )
    assert "(`apply --no-reuse` renders it)" in result.out
    assert "v1" not in project.lock("b.yaml").videos
    assert not (project.root / "out/b/v1.mp4").exists()


def test_the_python_api_takes_reuse(
    sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    import reelform

    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    duplicated_spec(project, texts=("Hello there", "Hello there"))
    [planned] = reelform.plan("spec.yaml")
    assert [i.action.value for i in planned.items] == ["create", "copy"]
    [unreused] = reelform.plan("spec.yaml", reuse=False)
    assert [i.action.value for i in unreused.items] == ["create", "create"]
    outcomes = reelform.apply("spec.yaml", reuse=False)
    assert [o.status for o in outcomes] == ["completed", "completed"]
    assert len(sim.sim.made) == 2


@pytest.mark.sim(signed_url_seconds=600.0)
def test_a_copy_whose_file_is_gone_is_downloaded_like_any_video(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """A fresh clone has no outputs: the copy's record holds the job that made its
    video, which asks the provider for a fresh URL; nothing is rendered."""
    duplicated_spec(project, texts=("Hello there", "Hello there"))
    assert cli("apply", "--yes", "spec.yaml").code == 0
    out = project.root / "out" / "spec"
    original = sha(out / "v2.mp4")
    for path in out.iterdir():
        path.unlink()
    items = json.loads(cli("plan", "--json", "spec.yaml").out)["specs"][0]["items"]
    assert {i["name"]: i["action"] for i in items} == {"v1": "download", "v2": "download"}
    before = sim.mark()
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert sim.creates(before) == []
    assert sha(out / "v2.mp4") == sha(out / "v1.mp4") == original
    assert project.lock().videos["v2"].copied_from == {"spec": "spec.yaml", "name": "v1"}


@pytest.mark.sim(jogg_render_seconds=(3000.0, 3000.0))  # 3 s here, scaled
def test_copies_of_a_render_still_running_wait_for_the_next_apply(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, texts=("Hello there", "Hello there"))
    # 0.6 s, scaled: time enough to submit, not to render.
    stopped = cli("apply", "--yes", "--timeout", "10m", "spec.yaml")
    assert stopped.code == 1, stopped.text
    assert "pending  v2 (spec.yaml): its source v1 is running: still rendering" in stopped.out
    assert "v2" not in project.lock().videos
    items = json.loads(cli("plan", "--json", "spec.yaml").out)["specs"][0]["items"]
    assert {i["name"]: i["action"] for i in items} == {"v1": "resume", "v2": "copy"}
    resumed = cli("apply", "--yes", "spec.yaml")
    assert resumed.code == 0, resumed.text
    assert len(sim.creates()) == 1 and len(sim.sim.made) == 1
    assert project.lock().videos["v2"].copied_from == {"spec": "spec.yaml", "name": "v1"}


def test_an_unknown_to_resubmit_copies_an_equal_render_instead(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    duplicated_spec(project, texts=("Hello there",))
    assert cli("apply", "--yes", "spec.yaml").code == 0
    lock = json.loads((project.root / "spec.lock").read_text())
    entry = lock["videos"]["v1"]
    for field in ("job_id", "output", "completed_at"):
        entry.pop(field, None)
    entry["status"] = "unknown"  # as a lost answer to its submit leaves it
    (project.root / "spec.lock").write_text(json.dumps(lock))
    (project.root / "out/spec/v1.mp4").unlink()
    duplicated_spec(project, texts=("Hello there", "Hello there"))
    plain = json.loads(cli("plan", "--json", "spec.yaml").out)["specs"][0]["items"]
    assert {i["name"]: i["action"] for i in plain} == {"v1": "unknown", "v2": "create"}
    shown = json.loads(cli("plan", "--json", "--resubmit-unknown", "spec.yaml").out)
    items = {i["name"]: i for i in shown["specs"][0]["items"]}
    assert items["v2"]["action"] == "create"
    # v1's job may exist (and be paid for): a copy of v2 resolves it without a resend.
    assert items["v1"]["action"] == "copy" and items["v1"]["copy_of"]["name"] == "v2"
    assert "resubmit" not in items["v1"]
    before = sim.mark()
    result = cli("apply", "--yes", "--resubmit-unknown", "spec.yaml")
    assert result.code == 0, result.text
    assert len(sim.creates(before)) == 1  # v2; v1 was not sent again
    assert sha(project.root / "out/spec/v2.mp4") == sha(project.root / "out/spec/v1.mp4")
    assert project.lock().videos["v1"].status == "completed"


@pytest.mark.sim(jogg_render_seconds=(600.0, 1500.0))  # 0.6-1.5 s here: time to kill
def test_killed_applies_never_lose_or_tear_a_copy_and_pay_once_per_render(
    sim: SimServer, project: Project
) -> None:
    """Crash-safety: SIGKILL apply at random instants of a spec of 30 videos that are
    6 renders. After every kill the lockfile loads and every output file is whole:
    its record's bytes, or (a copy killed before its record) its source's. In the
    end every video is complete, and the simulator made one render per kind, plus
    at most one for each video a kill left `unknown`."""
    import random
    import signal
    import time

    from applykit import follow, run_cli, start_cli

    texts = tuple(f"Script number {i % 6}" for i in range(30))
    duplicated_spec(project, texts=texts)
    env = sim.env()
    rng = random.Random(20261201)
    ever_unknown: set[str] = set()
    out = project.root / "out" / "spec"

    def check() -> None:
        lock = project.lock()  # lockfile + journal: loads whatever instant it died at
        for name, entry in lock.videos.items():
            if entry.status in ("unknown", "submitting"):
                ever_unknown.add(name)
        recorded = {
            e.output.sha256
            for e in lock.videos.values()
            if e.status == "completed" and e.output is not None and e.output.sha256
        }
        for path in out.iterdir() if out.is_dir() else []:
            if path.name.startswith(".reelform-"):
                continue  # a partial file, hidden, removed by the next apply
            entry = lock.videos.get(path.stem)
            digest = sha(path)
            if entry is not None and entry.output is not None and entry.output.sha256:
                assert digest == entry.output.sha256, path.name
            else:
                assert digest in recorded, path.name  # a copy placed, then killed

    killed = 0
    for _ in range(8):
        process = start_cli(["apply", "--yes", "--parallel", "4", "spec.yaml"], env, project.root)
        events = follow(process)  # one line per event: submitted, downloaded, copied...
        if rng.random() < 0.5:  # at a random instant
            deadline = time.monotonic() + rng.uniform(0.1, 1.5)
        else:  # after a random number of events: among the copies, often
            wanted = rng.randint(1, 30)
            deadline = time.monotonic() + 15
            while len(events) < wanted and time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.002)
            deadline = time.monotonic() + rng.uniform(0.0, 0.02)
        while time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.002)
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            killed += 1
        process.wait(timeout=60)
        check()
    assert killed >= 2, killed  # kills landed in runs, not only after them
    print(f"{killed} kills; {len(project.lock().videos)} videos on record before the last")
    final = run_cli(["apply", "--yes", "--resubmit-unknown", "spec.yaml"], env, project.root)
    assert final.code == 0, final.text
    check()
    lock = project.lock()
    assert {e.status for e in lock.videos.values()} == {"completed"}
    assert len(lock.videos) == 30
    made = len(sim.sim.made)
    print(f"{made} renders for 30 videos of 6 kinds; unknown after a kill: {ever_unknown}")
    assert 6 <= made <= 6 + len(ever_unknown), (made, sorted(ever_unknown))
    copies = [n for n, e in lock.videos.items() if e.copied_from is not None]
    assert len(copies) >= 30 - made
    for name in copies:
        source = lock.videos[lock.videos[name].copied_from["name"]]  # type: ignore[index]
        assert source.fingerprint == lock.videos[name].fingerprint
        assert sha(out / f"{name}.mp4") == source.output.sha256  # type: ignore[union-attr]


def test_a_copy_whose_source_this_run_does_not_make_is_pending(
    sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A render taken out of the plan after reuse (held back for want of approval,
    say) leaves its copies pending, never rendered in its place."""
    import asyncio
    import dataclasses

    from reelform.api import SilentReporter
    from reelform.apply.model import ApplyOptions
    from reelform.apply.run import apply_plans
    from reelform.project import plan_all, prepare_all

    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    duplicated_spec(project, texts=("Hello there", "Hello there"))
    prepared = prepare_all([Path("spec.yaml")])
    [plan] = plan_all(prepared)
    assert [(i.name, i.action.value) for i in plan.items] == [("v1", "create"), ("v2", "copy")]
    without_source = dataclasses.replace(plan, items=plan.items[1:])
    [outcome] = asyncio.run(
        apply_plans(prepared, [without_source], ApplyOptions(), SilentReporter())
    )
    assert (outcome.name, outcome.status) == ("v2", "pending")
    assert outcome.reason == "its source v1 is not made by this run; the next apply copies it"
    assert sim.creates() == []
    assert "v2" not in project.lock().videos
