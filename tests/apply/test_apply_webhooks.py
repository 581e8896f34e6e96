"""`apply --webhook-url URL --listen HOST:PORT` against the simulators' real deliveries."""

from __future__ import annotations

import time
from collections import Counter

import httpx
import orjson
import pytest
from applykit import (
    InProcess,
    Project,
    SimServer,
    png_bytes,
    start_cli,
    wav_bytes,
)

from reelform.sim import free_port, sign


def two_providers(project: Project, videos: int = 6) -> None:
    project.jogg_spec(videos)
    project.write("assets/face.png", png_bytes())
    project.write("assets/hello.wav", wav_bytes(1.0, 44100))
    project.write(
        "mirako.yaml",
        """
        version: 1
        provider: mirako
        output: out/mirako
        assets: {face: assets/face.png, hello: assets/hello.wav}
        data: {rows: [{n: 1}, {n: 2}, {n: 3}]}
        videos:
          - {name: "m{{ row.n }}", for_each: rows, image: face, voice: {audio: hello}}
    """,
        # Three identical Mirako videos: the tests apply them with --no-reuse, so each
        # is a job of its own (not a copy, plan/reuse.py).
    )


def status_requests_per_job(sim: SimServer) -> Counter[str]:
    counts: Counter[str] = Counter()
    for record in sim.status_gets():
        if record.path.endswith("/status"):
            counts[record.path.split("/")[-2]] += 1
        else:
            counts[record.path.rsplit("/", 1)[-1]] += 1
    return counts


def webhook_args() -> list[str]:
    port = free_port()
    return ["--webhook-url", f"http://127.0.0.1:{port}", "--listen", f"127.0.0.1:{port}"]


def test_webhooks_complete_with_at_most_two_status_requests(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    two_providers(project)
    result = cli("apply", "--yes", "--no-reuse", *webhook_args(), "spec.yaml", "mirako.yaml")
    assert result.code == 0, result.text
    jobs = {
        e.job_id
        for spec in ("spec.yaml", "mirako.yaml")
        for e in project.lock(spec).videos.values()
    }
    assert len(jobs) == 9
    delivered = [w for w in sim.sim.webhook_log if w["outcome"] == "200"]
    assert len(delivered) == 9, sim.sim.webhook_log
    per_job = status_requests_per_job(sim)
    assert set(per_job) <= jobs
    assert max(per_job.values(), default=0) <= 2, per_job
    print("status requests per job", sorted(per_job.values()))
    create_bodies = [r.json for r in sim.creates()]
    assert all("webhook_url" in b or "webhook" in b for b in create_bodies)


@pytest.mark.sim(webhook_loss_rate=1.0)
def test_lost_webhooks_complete_through_the_safety_poll(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    two_providers(project, videos=3)
    started = time.monotonic()
    result = cli("apply", "--yes", "--no-reuse", *webhook_args(), "spec.yaml", "mirako.yaml")
    assert result.code == 0, result.text
    assert all(w["outcome"] == "lost" for w in sim.sim.webhook_log)
    assert len(sim.sim.webhook_log) == 6
    assert time.monotonic() - started < 30
    assert {e.status for e in project.lock().videos.values()} == {"completed"}


def test_forged_deliveries_are_rejected_and_complete_nothing(
    sim: SimServer, project: Project
) -> None:
    sim.config.jogg_render_seconds = (2500.0, 2500.0)  # 2.5 s: time to forge
    sim.config.mirako_render_seconds = (2500.0, 2500.0)
    two_providers(project, videos=2)
    args = webhook_args()
    url = args[1]
    process = start_cli(
        ["apply", "--yes", "--no-reuse", *args, "spec.yaml", "mirako.yaml"], sim.env(), project.root
    )
    try:
        deadline = time.monotonic() + 30
        while len(sim.sim.jobs) < 5:
            assert time.monotonic() < deadline and process.poll() is None
            time.sleep(0.01)
        time.sleep(0.2)
        jogg_job = next(j for j in sim.sim.jobs.values() if j.kind == "jogg_v2")
        mirako_job = next(j for j in sim.sim.jobs.values() if j.kind == "mirako")
        fake = f"{sim.base}/jogg/_files/forged.mp4"
        body = orjson.dumps(
            {
                "event_id": "x",
                "event": "generated_avatar_video_success",
                "timestamp": 0,
                "data": {
                    "video_id": jogg_job.id,
                    "status": "completed",
                    "video_url": fake,
                    "duration": 1.0,
                },
            }
        )
        forged: list[tuple[str, dict[str, str], bytes]] = [
            (
                f"{url}/jogg",
                {
                    "X-Webhook-Signature": sign(body, "not-the-secret"),
                    "X-Webhook-Event": "generated_avatar_video_success",
                },
                body,
            ),
            (f"{url}/jogg", {"X-Webhook-Event": "generated_avatar_video_success"}, body),
            (
                f"{url}/mirako",
                {"Authorization": "Bearer wrong-token"},
                orjson.dumps({"task_id": mirako_job.id, "status": "COMPLETED", "file_url": fake}),
            ),
            (f"{url}/mirako", {}, orjson.dumps({"task_id": mirako_job.id, "status": "COMPLETED"})),
        ]
        with httpx.Client() as client:
            for target, headers, payload in forged:
                answer = client.post(
                    target, content=payload, headers={"Content-Type": "application/json", **headers}
                )
                assert answer.status_code == 401, (target, answer.status_code)
        assert process.poll() is None  # nothing finished because of them
        out, err = process.communicate(timeout=60)
        assert process.returncode == 0, out + err
    finally:
        process.kill()
        process.wait()
    for spec in ("spec.yaml", "mirako.yaml"):
        for entry in project.lock(spec).videos.values():
            assert "forged" not in entry.output.url
    assert not any("forged" in r.path for r in sim.requests())


def test_jogg_webhooks_without_the_signing_secret_are_refused(
    cli: InProcess, sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every delivery would be rejected: say so instead of falling back to a slow poll."""
    monkeypatch.delenv("JOGG_WEBHOOK_SECRET")
    project.jogg_spec(2)
    result = cli("apply", "--yes", *webhook_args(), "spec.yaml")
    assert result.code == 1
    assert "set JOGG_WEBHOOK_SECRET" in result.err
    assert sim.requests() == []


def test_a_port_in_use_is_a_clear_error(cli: InProcess, sim: SimServer, project: Project) -> None:
    import socket

    project.jogg_spec(2)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli(
            "apply",
            "--yes",
            "--webhook-url",
            f"http://127.0.0.1:{port}",
            "--listen",
            f"127.0.0.1:{port}",
            "spec.yaml",
        )
    assert result.code == 1, result.text
    assert f"--listen 127.0.0.1:{port}: cannot listen there" in result.err
    # Only the quota read that precedes the review (docs/design.md, "Credits").
    assert [r.path for r in sim.requests()] == ["/jogg/v2/user/remaining_quota"]
    assert not (project.root / "spec.lock.journal").exists()
