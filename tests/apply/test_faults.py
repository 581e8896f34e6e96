"""Apply against a misbehaving provider: 5xx, dropped connections, 429 bursts, failed renders.

docs/design.md, "Never pay twice": reads are retried with backoff; a submit is sent
again only after an answer that proves it was not taken (429); a render the provider
failed is recorded `failed` with its reason and retried by the next apply; a submit
whose answer proves nothing (a 5xx, a broken connection) is `unknown` and never
resent unasked; one failure never stops the others; exit 1 with a summary.
"""

from __future__ import annotations

import re

import pytest
from applykit import InProcess, Project, SimServer

from reelform.sim.core import FAIL_REASONS

VIDEOS = 120
KEY_IN_NAME = re.compile(r"\[(rf-[0-9a-f]+)\]")
FAULTS = {
    "error_rate": 0.10,
    "drop_rate": 0.05,
    "burst_429_every": 25,
    "burst_429_length": 4,
    "render_fail_rate": 0.05,
}


def key_of(record_json: dict[str, str]) -> str:
    match = KEY_IN_NAME.search(record_json["video_name"])
    assert match
    return match.group(1)


@pytest.mark.sim(**FAULTS)
def test_faults_fail_only_what_the_provider_failed(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(VIDEOS)
    first = cli("apply", "--yes", "--parallel", "16", "spec.yaml")
    state = project.lock()
    by_status: dict[str, set[str]] = {}
    for name, entry in state.videos.items():
        by_status.setdefault(entry.status, set()).add(name)
    assert set(by_status) <= {"completed", "failed", "unknown"}, by_status.keys()
    assert len(state.videos) == VIDEOS

    # The faults really happened.
    faults = {r.fault for r in sim.requests() if r.fault}
    assert {"500", "502", "503"} & faults and "burst_429" in faults
    assert any(r.fault.startswith("drop") for r in sim.requests() if r.fault)

    # Submits whose answer proves nothing (lost, or a 5xx without Retry-After: the
    # simulator's made nothing, but no client can know that) are unknown.
    unprovable = ("drop", "500", "502", "503")
    dropped = {key_of(r.json) for r in sim.creates() if r.fault and r.fault.startswith(unprovable)}
    unknown = by_status.get("unknown", set())
    assert {state.videos[n].key for n in unknown} == dropped
    assert unknown, "seeded run without a dropped submit"

    # Failed renders: exactly the jobs the simulator failed, with its reason. A failing
    # job that no entry records was made by a submit whose answer was dropped: reelform
    # never learnt its id (the video is `unknown`), which cannot be more than dropped.
    failed_jobs = {job.id: job.fail_reason for job in sim.sim.jobs.values() if job.fails}
    recorded = {entry.job_id for entry in state.videos.values()}
    failed = by_status.get("failed", set())
    assert failed, "seeded run without a failed render"
    assert {state.videos[n].job_id for n in failed} == set(failed_jobs) & recorded
    assert len(set(failed_jobs) - recorded) <= len(dropped)
    for name in failed:
        entry = state.videos[name]
        assert entry.error == failed_jobs[entry.job_id]
        assert entry.error in FAIL_REASONS

    # Everything else completed, once, despite 5xx, 429 and dropped polls/uploads.
    assert by_status["completed"] == set(state.videos) - failed - unknown
    assert first.code == 1
    summary = first.out[first.out.index("Apply:") :]
    assert f"{len(failed)} failed" in summary and f"{len(unknown)} unknown" in summary
    for name in failed:
        assert re.search(
            rf"failed\s+{re.escape(name)} \(spec.yaml\): "
            rf"{re.escape(state.videos[name].error)}",
            summary,
        ), name
    for name in unknown:
        assert re.search(rf"unknown\s+{re.escape(name)} ", summary), name

    # Faults off: the next apply retries the failed renders, and only those.
    sim.config.merge({k: 0 for k in FAULTS})
    before = sim.mark()
    second = cli("apply", "--yes", "spec.yaml")
    created = {key_of(r.json) for r in sim.creates(before)}
    assert created == {state.videos[n].key for n in failed}
    assert len(sim.creates(before)) == len(failed)
    state = project.lock()
    assert {n for n, e in state.videos.items() if e.status == "completed"} == set(
        state.videos
    ) - unknown
    assert {n for n, e in state.videos.items() if e.status == "unknown"} == unknown
    assert second.code == 1  # the unknown ones are still undecided
    plan = cli("plan", "spec.yaml")
    assert plan.code == 0
    for name in unknown:
        assert re.search(rf"unknown\s+{re.escape(name)}\b", plan.out), plan.out


@pytest.mark.sim(render_fail_rate=1.0, mirako_fail_status="TIMED_OUT")
def test_mirako_failures_carry_the_reason_and_one_does_not_stop_the_others(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    from applykit import png_bytes, wav_bytes

    project.write("assets/face.png", png_bytes())
    project.write("assets/hello.wav", wav_bytes(1.0, 44100))
    project.write(
        "mirako.yaml",
        """
        version: 1
        provider: mirako
        output: out/mirako
        assets: {face: assets/face.png, hello: assets/hello.wav}
        videos:
          - {name: m1, image: face, voice: {audio: hello}}
    """,
    )
    project.jogg_spec(2)
    result = cli("apply", "--yes", "mirako.yaml")
    assert result.code == 1
    entry = project.lock("mirako.yaml").videos["m1"]
    assert entry.status == "failed" and entry.error.endswith("(TIMED_OUT)")
    assert entry.error.removesuffix(" (TIMED_OUT)") in FAIL_REASONS
    assert f"failed   m1 (mirako.yaml): {entry.error}" in result.out

    sim.config.render_fail_rate = 0.0
    sim.config.drop_rate = 1.0
    sim.config.fault_methods = {"POST"}
    before = sim.mark()
    dropped = cli("apply", "--yes", "mirako.yaml", "spec.yaml")
    assert dropped.code == 1
    assert len(sim.creates(before)) == 3  # each sent once: a lost answer is never resent
    statuses = {
        n: e.status for s in ("mirako.yaml", "spec.yaml") for n, e in project.lock(s).videos.items()
    }
    assert statuses == {"m1": "unknown", "v1": "unknown", "v2": "unknown"}
