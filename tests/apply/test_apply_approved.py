"""`apply --approved` end to end: only approved renders are paid for at the provider.

What counts is the simulator's own ledger (``GET /_sim/made``: what it made and
charged), not what apply says it did.
"""

from __future__ import annotations

import json

import httpx
import pytest
from applykit import VOICE, InProcess, Project, SimServer, png_bytes

from reelform.api import apply
from reelform.project import prepare
from reelform.state.approvals import read_approvals, record_approvals

#: The tests that matter most run on both state backends (lockfiles, PostgreSQL rows).
BOTH_BACKENDS = pytest.mark.usefixtures("state_backend")


def made_videos(sim: SimServer) -> list[str]:
    """The video names the provider made (and charged for), from its ledger over HTTP."""
    ledger = httpx.get(f"{sim.base}/_sim/made").json()
    return sorted(m["name"].split(" ")[0] for m in ledger if m["kind"] in ("jogg_v2", "jogg_v1"))


def made_kinds(sim: SimServer) -> list[str]:
    return sorted(m["kind"] for m in httpx.get(f"{sim.base}/_sim/made").json())


@BOTH_BACKENDS
def test_only_approved_videos_are_made_and_the_rest_are_counted(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(4)
    assert cli("approve", "spec.yaml", "v1", "v3").code == 0
    result = cli("apply", "--yes", "--approved", "spec.yaml")
    assert result.code == 0, result.text
    assert made_videos(sim) == ["v1", "v3"]
    assert sorted(project.lock().videos) == ["v1", "v3"]
    assert "  | 2 held back (not approved): v2, v4" in result.out
    assert result.out.rstrip().endswith(
        "2 held back: not approved. Approve them with `reelform approve` or in the review "
        "gallery, then apply again."
    )

    # A change to an approved video voids its approval: nothing more is made.
    text = (project.root / "data/spec.csv").read_text().replace("Hello number 3", "Hi 3")
    project.write("data/spec.csv", text)
    result = cli("apply", "--yes", "--approved", "spec.yaml")
    assert result.code == 0, result.text
    assert "Nothing to apply: 3 held back: not approved (1 void after a change)." in result.out
    assert made_videos(sim) == ["v1", "v3"]

    # Approved again (as it now is), and the others: all of it is made, nothing twice.
    assert cli("approve", "spec.yaml", "--all").code == 0
    result = cli("apply", "--yes", "--approved", "spec.yaml")
    assert result.code == 0, result.text
    assert "held back" not in result.out
    assert made_videos(sim) == ["v1", "v2", "v3", "v3", "v4"]  # v3 changed: a new render


def test_without_approvals_everything_is_held_back_and_plain_apply_is_unchanged(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(2)
    result = cli("apply", "--yes", "--approved", "spec.yaml")
    assert (result.code, made_videos(sim)) == (0, []), result.text
    assert "Nothing to apply: 2 held back: not approved." in result.out
    assert not (project.root / "spec.lock").exists()
    result = cli("apply", "--yes", "spec.yaml")  # without --approved: as before
    assert result.code == 0 and made_videos(sim) == ["v1", "v2"]


def test_resumes_go_on_whatever_the_approvals(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """A job already submitted is paid for: --approved never holds back its resume."""
    sim.config.jogg_render_seconds = (1500.0, 1500.0)  # 1.5 s here: no render ends soon
    project.jogg_spec(2)
    result = cli("apply", "--yes", "--timeout", "500s", "spec.yaml")
    assert made_videos(sim) == ["v1", "v2"], result.text
    assert {e.status for e in project.lock().videos.values()} == {"submitted"}
    result = cli("apply", "--yes", "--approved", "spec.yaml")
    assert result.code == 0, result.text
    assert "held back" not in result.out
    assert {e.status for e in project.lock().videos.values()} == {"completed"}
    assert made_videos(sim) == ["v1", "v2"]


def test_a_saved_plan_applies_with_the_approvals_of_the_moment(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(3)
    assert cli("plan", "--out", "reviewed.plan", "spec.yaml").code == 0
    assert cli("approve", "spec.yaml", "v2").code == 0  # after the plan: not a stale plan
    result = cli("apply", "--yes", "--approved", "reviewed.plan")
    assert result.code == 0, result.text
    assert made_videos(sim) == ["v2"]
    assert "2 held back: not approved." in result.out
    saved = json.loads((project.root / "reviewed.plan").read_text())
    assert "approved" not in json.dumps(saved["specs"])  # made before any approval

    # Saved with approvals, applied with others: the approvals of the moment count.
    assert cli("plan", "--out", "again.plan", "spec.yaml").code == 0
    saved = json.loads((project.root / "again.plan").read_text())
    assert {i["name"]: i["approved"] for i in saved["specs"][0]["items"]} == {
        "v1": False,
        "v3": False,
    }
    assert cli("approve", "spec.yaml", "v3").code == 0
    result = cli("apply", "--yes", "--approved", "again.plan")
    assert result.code == 0, result.text
    assert made_videos(sim) == ["v2", "v3"]


def test_json_events_say_what_was_held_back_on_stderr(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(2)
    assert cli("approve", "spec.yaml", "v2").code == 0
    result = cli("apply", "--yes", "--json", "--approved", "spec.yaml")
    assert result.code == 0, result.text
    assert "1 held back: not approved." in result.err
    for line in result.out.splitlines():
        json.loads(line)  # stdout stays a clean event stream
    assert made_videos(sim) == ["v2"]


def test_a_photo_avatar_only_held_back_videos_use_is_not_made(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.write("assets/founder.png", png_bytes(800, 800))
    project.write("assets/other.png", png_bytes(800, 800, shade=30))
    project.write(
        "spec.yaml",
        f"""
        version: 1
        provider: jogg
        output: out/spec
        assets: {{portrait: assets/founder.png, second: assets/other.png}}
        avatars:
          founder: {{image: portrait, voice_id: {VOICE}}}
          other: {{image: second, voice_id: {VOICE}}}
        defaults:
          voice: {{voice_id: {VOICE}}}
        videos:
          - {{name: f1, avatar: {{photo: founder}}, voice: {{script: "One."}}}}
          - {{name: o1, avatar: {{photo: other}}, voice: {{script: "Two."}}}}
    """,
    )
    assert cli("approve", "spec.yaml", "f1").code == 0
    result = cli("apply", "--yes", "--approved", "spec.yaml")
    assert result.code == 0, result.text
    assert made_kinds(sim) == ["jogg_v2", "motion"]  # founder's motion and f1 only
    assert "1 held back: not approved, and 1 photo avatar only they use." in result.out
    assert sorted(project.lock().avatars) == ["jogg/founder"]


def test_the_python_api_takes_approved(
    sim: SimServer, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in sim.env().items():
        monkeypatch.setenv(key, value)
    spec = project.jogg_spec(3)
    requests = prepare(spec).requests
    record_approvals(spec, {r.name: r.fingerprint for r in requests if r.name != "v2"}, [])
    outcomes = apply(spec, approved=True)
    assert sorted(o.name for o in outcomes) == ["v1", "v3"]
    assert all(o.ok for o in outcomes)
    assert made_videos(sim) == ["v1", "v3"]
    assert set(read_approvals(spec).by_name) == {"v1", "v3"}


def test_the_local_provider_holds_back_too(local_cli: InProcess, project: Project) -> None:
    project.write(
        "spec.yaml",
        """
        version: 1
        provider: local
        output: out/spec
        data: {rows: [{id: 1}, {id: 2}]}
        videos:
          - name: "l{{ row.id }}"
            for_each: rows
            voice: {script: "Hello {{ row.id }}", voice_id: en-US-JennyNeural}
        """,
    )
    assert local_cli("approve", "spec.yaml", "l2").code == 0
    result = local_cli("apply", "--yes", "--approved", "spec.yaml")
    assert result.code == 0, result.text
    assert [p.name for p in project.outputs()] == ["l2.mp4"]
    assert "1 held back: not approved." in result.out
