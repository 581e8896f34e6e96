"""Photo avatars whose creation was interrupted are never created again unasked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from applykit import VOICE, InProcess, Project, SimServer, png_bytes

from reelform.project import prepare
from reelform.state.records import AvatarRecord, Status

#: On both state backends: lockfiles, and rows in PostgreSQL.
pytestmark = pytest.mark.usefixtures("state_backend")

MOTION = "/jogg/v2/photo_avatar/add_motion"


def photo_spec(project: Project) -> None:
    project.write("assets/founder.png", png_bytes(800, 800))
    project.write(
        "spec.yaml",
        f"""
        version: 1
        provider: jogg
        output: out/spec
        assets: {{portrait: assets/founder.png}}
        avatars:
          founder: {{image: portrait, voice_id: {VOICE}}}
        defaults:
          avatar: {{photo: founder}}
          voice: {{voice_id: {VOICE}}}
        videos:
          - {{name: f1, voice: {{script: "One."}}}}
          - {{name: f2, voice: {{script: "Two."}}}}
    """,
    )


def motions(sim: SimServer, since: int = 0) -> int:
    return sum(1 for r in sim.posts(since) if r.path == MOTION)


def test_an_interrupted_photo_avatar_is_unknown_until_a_person_decides(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """A crash between the avatar's durable intent and its motion id: JoggAI cannot be
    asked whether it made one, so apply neither waits for nor re-creates it."""
    photo_spec(project)
    [avatar] = prepare(Path("spec.yaml")).avatars
    state = project.lock()
    state.avatars[avatar.lock_key] = AvatarRecord(
        fingerprint=avatar.fingerprint,
        inputs=avatar.inputs,
        provider="jogg",
        model=avatar.model,
        status=Status.SUBMITTING,
        submitted_at="2026-01-01T00:00Z",
    )
    project.write_state(state)

    for _ in range(2):  # found interrupted, then already recorded unknown
        result = cli("apply", "--yes", "spec.yaml")
        assert result.code == 1
        assert "--resubmit-unknown" in result.out, result.out
        assert motions(sim) == 0 and sim.creates() == []
        assert project.lock().avatars[avatar.lock_key].status == "unknown"
    plan = json.loads(cli("plan", "--json", "spec.yaml").out)
    items = {(i["kind"], i["name"]): i["action"] for i in plan["specs"][0]["items"]}
    assert items[("avatar", "founder")] == "unknown"

    result = cli("apply", "--yes", "--resubmit-unknown", "spec.yaml")
    assert result.code == 0, result.text
    assert motions(sim) == 1 and len(sim.creates()) == 2
    assert project.lock().avatars[avatar.lock_key].status == "completed"
