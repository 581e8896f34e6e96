"""Apply against providers that behave as real ones do (docs/design.md, "Never pay twice").

Each test sets one hostile fault of the simulator and counts, in the simulator's
ledger of what it really made (``sim.made``), what the user paid for. Every one of
them paid more than once, or lost a job, before apply judged its answers.
"""

from __future__ import annotations

import json
import re

import pytest
from applykit import InProcess, Project, SimServer

#: On both state backends: lockfiles, and rows in PostgreSQL.
pytestmark = pytest.mark.usefixtures("state_backend")

KEY = re.compile(r"\[(rf-[0-9a-f]+)\]")


def made_per_key(sim: SimServer) -> dict[str, int]:
    """Videos the provider made (and charged for), by reelform's key."""
    counts: dict[str, int] = {}
    for made in sim.sim.made:
        if made.kind in ("jogg_v2", "jogg_v1"):
            match = KEY.search(made.name)
            assert match, made
            counts[match.group(1)] = counts.get(match.group(1), 0) + 1
    return counts


def statuses(project: Project) -> dict[str, str]:
    return {name: entry.status for name, entry in project.lock().videos.items()}


def plan_actions(cli: InProcess, *args: str) -> dict[str, str]:
    result = cli("plan", "--json", *args, "spec.yaml")
    assert result.code == 0, result.text
    [spec] = json.loads(result.out)["specs"]
    return {item["name"]: item["action"] for item in spec["items"]}


@pytest.mark.parametrize("answer", ["502", "504", "reset"])
def test_a_gateway_error_after_the_job_was_made_is_unknown_and_never_paid_again(
    cli: InProcess, sim: SimServer, project: Project, answer: str
) -> None:
    sim.config.made_then_gateway_rate = 1.0
    sim.config.made_then_gateway_answers = {answer}
    project.jogg_spec(4)
    first = cli("apply", "--yes", "spec.yaml")
    assert first.code == 1 and "4 unknown" in first.out, first.text
    assert set(statuses(project).values()) == {"unknown"}
    assert sorted(made_per_key(sim).values()) == [1, 1, 1, 1]  # made, and charged, once
    assert set(plan_actions(cli).values()) == {"unknown"}

    # A second apply (a CI rerun) pays nothing more; only a person's flag does.
    sim.config.made_then_gateway_rate = 0.0
    again = cli("apply", "--yes", "spec.yaml")
    assert again.code == 1 and sorted(made_per_key(sim).values()) == [1, 1, 1, 1]
    resubmitted = cli("apply", "--yes", "--resubmit-unknown", "spec.yaml")
    assert resubmitted.code == 0, resubmitted.text
    assert sorted(made_per_key(sim).values()) == [2, 2, 2, 2]
    assert set(statuses(project).values()) == {"completed"}


def test_a_waf_page_on_a_create_is_unknown_not_retried(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    sim.config.waf_403_rate = 1.0
    sim.config.fault_methods = {"POST"}
    project.jogg_spec(2)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert set(statuses(project).values()) == {"unknown"}
    creates = [r for r in sim.requests() if r.path.endswith("/create_video_from_avatar")]
    assert len(creates) == 2  # each sent once: a 403 page proves nothing either way


def test_a_503_with_retry_after_is_sent_again_and_made_once(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    sim.config.unavailable_rate = 0.5
    sim.config.fault_methods = {"POST"}
    project.jogg_spec(6)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert any(r.fault == "unavailable_503" for r in sim.requests())
    assert sorted(made_per_key(sim).values()) == [1] * 6
    assert set(statuses(project).values()) == {"completed"}


def test_a_job_not_found_just_after_its_create_is_waited_for(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    # Reads answer 10104 for the first 300 provider seconds of each job: longer than
    # the first poll (110 s) and the renders themselves.
    sim.config.not_found_seconds = 300.0
    project.jogg_spec(3)
    result = cli("apply", "--yes", "spec.yaml")
    assert any(r.fault == "not_found_yet" for r in sim.requests())
    assert result.code == 0, result.text
    assert set(statuses(project).values()) == {"completed"}
    assert sorted(made_per_key(sim).values()) == [1, 1, 1]


def test_a_key_rotated_mid_batch_leaves_jobs_running_and_the_next_apply_finishes(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    sim.config.unauthorized_reads_after = 0
    sim.config.unauthorized_reads_count = 10_000  # every status read: 401 / 10105
    project.jogg_spec(3)
    first = cli("apply", "--yes", "spec.yaml")
    assert first.code == 1 and "3 still running" in first.out, first.text
    assert "status reads failed" in first.out and "invalid API key" in first.out
    assert set(statuses(project).values()) == {"submitted"}  # never `failed`
    assert set(plan_actions(cli).values()) == {"resume"}

    sim.config.unauthorized_reads_count = 0  # the new key is in place
    second = cli("apply", "--yes", "spec.yaml")
    assert second.code == 0, second.text
    assert set(statuses(project).values()) == {"completed"}
    assert sorted(made_per_key(sim).values()) == [1, 1, 1]  # 3 videos, 3 creates


def test_an_answer_slower_than_the_client_is_unknown_never_a_second_job(
    sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch, cli: InProcess
) -> None:
    import httpx

    import reelform.apply.run as run

    real = run.async_client

    def impatient(**kwargs: object) -> httpx.AsyncClient:
        kwargs["timeout"] = httpx.Timeout(0.3, connect=5.0)
        return real(**kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(run, "async_client", impatient)
    sim.config.slow_after_rate = 1.0
    sim.config.slow_seconds = 1.0
    sim.config.fault_methods = {"POST"}
    project.jogg_spec(2)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert set(statuses(project).values()) == {"unknown"}
    assert sorted(made_per_key(sim).values()) == [1, 1]
