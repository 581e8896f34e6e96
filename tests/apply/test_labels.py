"""A JoggAI title is a label, not a render (docs/design.md, "Labels").

Over real HTTP against the simulator: a new title plans as unchanged with a label
line and no cost, and apply records it without a create. A lockfile written before
labels existed (its fingerprint hashed the title) plans as unchanged too, and the
next apply rewrites its fingerprint without a provider call.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

import pytest
from applykit import InProcess, Project, SimServer

from reelform.plan.fingerprint import legacy_fingerprint
from reelform.state.lockfile import read_lock, write_lock

#: The tests that matter most run on both state backends (lockfiles, PostgreSQL rows).
BOTH_BACKENDS = pytest.mark.usefixtures("state_backend")


def titled_spec(project: Project, title: str, count: int = 2) -> None:
    project.jogg_spec(count)
    spec = project.root / "spec.yaml"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace(
            '    voice: {script: "{{ row.text }}"}\n',
            f'    voice: {{script: "{{{{ row.text }}}}"}}\n    title: "{title} {{{{ row.id }}}}"\n',
        ),
        encoding="utf-8",
    )


def planned(cli: InProcess) -> dict[str, Any]:
    result = cli("plan", "--json", "--detailed-exitcode", "spec.yaml")
    assert result.code in (0, 2), result.text
    document: dict[str, Any] = json.loads(result.out)
    document["exit"] = result.code
    return document


@BOTH_BACKENDS
def test_a_new_title_is_recorded_not_rendered(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    titled_spec(project, "Welcome")
    first = cli("apply", "--yes", "spec.yaml")
    assert first.code == 0, first.text
    assert len(sim.creates()) == 2
    # Sent side by side: in either order.
    assert sorted(r.json["video_name"].split(" [")[0] for r in sim.creates()) == [
        "Welcome 1",
        "Welcome 2",
    ]
    before = project.lock()
    titled_spec(project, "Hello")

    document = planned(cli)
    [spec] = document["specs"]
    assert spec["items"] == [], spec
    assert spec["summary"]["unchanged"] == 2 and spec["summary"]["replace"] == 0
    assert [(i["action"], i["name"], i["changed"]) for i in spec["labels"]] == [
        ("unchanged", "v1", ["title"]),
        ("unchanged", "v2", ["title"]),
    ]
    assert document["estimate"] == {"videos": 0, "seconds": 0.0, "jogg_credits": 0}
    assert document["changes"] is True and document["exit"] == 2  # apply has a record to write
    text = cli("plan", "spec.yaml")
    assert "label" in text.out and "changed: title; no render, no cost" in text.out, text.out
    assert "0 videos to render" in text.out

    mark = sim.mark()
    second = cli("apply", "--yes", "spec.yaml")
    assert second.code == 0, second.text
    assert sim.creates(mark) == [] and sim.posts(mark) == [], [r.path for r in sim.posts(mark)]
    after = project.lock()
    for name in ("v1", "v2"):
        old, new = before.videos[name], after.videos[name]
        assert new.inputs is not None and new.inputs["title"] == f"Hello {name[1:]}"
        assert new.fingerprint == old.fingerprint and new.job_id == old.job_id
        assert new.output == old.output and new.status == old.status
    # Recorded: the next plan has nothing to do.
    again = planned(cli)
    assert again["exit"] == 0 and "labels" not in again["specs"][0]


def test_a_legacy_lockfile_plans_unchanged_and_migrates_for_free(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    titled_spec(project, "Welcome")
    assert cli("apply", "--yes", "spec.yaml").code == 0
    lock_path = project.root / "spec.lock"
    state = read_lock(lock_path)
    current = {name: entry.fingerprint for name, entry in state.videos.items()}
    # The lockfile as the reelform before labels wrote it: the fingerprint hashed the
    # title (the digest of all the recorded inputs).
    for name, entry in list(state.videos.items()):
        assert entry.inputs is not None
        state.videos[name] = replace(entry, fingerprint=legacy_fingerprint(entry.inputs))
    write_lock(lock_path, state)
    assert all(read_lock(lock_path).videos[n].fingerprint != current[n] for n in current)

    document = planned(cli)
    [spec] = document["specs"]
    assert spec["items"] == [] and spec["summary"]["unchanged"] == 2, spec
    assert document["exit"] == 0 and "labels" not in spec  # a migration is no change

    # A legacy entry with a new title: still the same render.
    titled_spec(project, "Hello")
    document = planned(cli)
    [spec] = document["specs"]
    assert spec["items"] == [] and [i["name"] for i in spec["labels"]] == ["v1", "v2"]
    mark = sim.mark()
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert sim.posts(mark) == []
    migrated = read_lock(lock_path)
    assert {n: e.fingerprint for n, e in migrated.videos.items()} == current
    assert migrated.videos["v1"].inputs is not None
    assert migrated.videos["v1"].inputs["title"] == "Hello 1"
