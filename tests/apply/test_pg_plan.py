"""`plan` on both state backends: the same plan from lockfiles and from the database,
read-only in both, and a saved plan refused once the state moved on."""

from __future__ import annotations

import json
from dataclasses import replace

import psycopg
import pytest
from applykit import InProcess, Project, SimServer

pytestmark = pytest.mark.usefixtures("state_backend")


def items(cli: InProcess, *args: str) -> dict[str, str]:
    result = cli("plan", "--json", *args)
    assert result.code == 0, result.text
    [spec] = json.loads(result.out)["specs"]
    return {item["name"]: item["action"] for item in spec["items"]}


def test_plan_after_apply_is_a_no_op_and_sees_each_kind_of_change(
    cli: InProcess, sim: SimServer, project: Project, state_backend: str
) -> None:
    project.jogg_spec(4)
    assert items(cli, "spec.yaml") == {f"v{i}": "create" for i in range(1, 5)}
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert cli("plan", "--detailed-exitcode", "spec.yaml").code == 0
    # A changed script, a lost output file, a video gone from the data.
    project.jogg_spec(3, extra="")
    csv = project.root / "data/spec.csv"
    csv.write_text(csv.read_text().replace("Hello number 2", "Hi number 2"))
    (project.root / "out/spec/v3.mp4").unlink()
    before = sim.mark()
    planned = items(cli, "spec.yaml")
    assert planned == {"v2": "replace", "v3": "download", "v4": "orphan"}, planned  # v1: no-op
    assert cli("plan", "--detailed-exitcode", "spec.yaml").code == 2
    assert sim.requests(before) == []  # plan asks no provider


def test_plan_does_not_write_the_state(
    cli: InProcess, project: Project, state_backend: str, pg_server: object
) -> None:
    project.jogg_spec(2)
    assert cli("plan", "spec.yaml").code == 0
    assert not (project.root / "spec.lock").exists()
    if state_backend == "postgres":
        import os

        with psycopg.connect(os.environ["REELFORM_STATE_URL"]) as conn:
            found = conn.execute("SELECT to_regclass('reelform.specs')").fetchone()
        assert found == (None,)  # not even the schema


def test_a_saved_plan_is_refused_once_the_state_changed(
    cli: InProcess, sim: SimServer, project: Project, state_backend: str
) -> None:
    project.jogg_spec(2)
    assert cli("plan", "--out", "plan.json", "spec.yaml").code == 0
    state = project.lock()
    from reelform.state.records import Status, VideoRecord

    state.videos["v1"] = replace(VideoRecord(), status=Status.FAILED, error="by hand")
    project.write_state(state)
    stale = cli("apply", "--yes", "plan.json")
    assert stale.code == 1, stale.text
    assert "stale" in stale.text.lower() or "changed" in stale.text.lower(), stale.text
    assert sim.creates() == []
    assert cli("plan", "--out", "plan.json", "spec.yaml").code == 0
    fresh = cli("apply", "--yes", "plan.json")
    assert fresh.code == 0, fresh.text
    assert len(sim.creates()) == 2
