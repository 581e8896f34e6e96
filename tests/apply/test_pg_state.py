"""`reelform state pull|push|list` against a real PostgreSQL server and the simulator.

``pull`` writes the lockfile the lockfile backend would have written for the same
state, byte for byte; ``push`` imports lockfiles into an empty database and never
overwrites a row that differs; ``list`` counts each spec's videos by status.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import orjson
import pytest
from applykit import InProcess, Project, SimServer, scaled_config

from pgkit import PgServer
from reelform.sim import create_app, serve_in_thread

POSTGRES = '[state]\nbackend = "postgres"\n'

#: What differs between two runs of the same spec: when, and the job the provider made.
VOLATILE = {"submitted_at", "completed_at", "mtime_ns", "job_id", "at", "url"}


def normalized(raw: bytes) -> Any:
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: ("*" if k in VOLATILE else strip(v)) for k, v in value.items()}
        return value

    return strip(orjson.loads(raw))


def use_postgres(project: Project, monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    project.write("reelform.toml", POSTGRES)
    monkeypatch.setenv("REELFORM_STATE_URL", url)


def test_pull_writes_what_the_lockfile_backend_writes_for_the_same_run(
    cli: InProcess,
    sim: SimServer,
    project: Project,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # The lockfile backend, in a folder of its own, against a simulator of its own.
    other = Project(tmp_path_factory.mktemp("lockfile-run"))
    other.jogg_spec(5)
    monkeypatch.chdir(other.root)
    app = create_app(scaled_config())
    with serve_in_thread(app=app) as base:
        env = SimServer(base, app).env()
        for key in ("JOGG_BASE_URL", "MIRAKO_BASE_URL"):
            monkeypatch.setenv(key, env[key])
        assert cli("apply", "--yes", "spec.yaml").code == 0
    lockfile_bytes = (other.root / "spec.lock").read_bytes()

    # The same spec on the database backend.
    cli.use(sim.env())
    monkeypatch.chdir(project.root)
    project.jogg_spec(5)
    use_postgres(project, monkeypatch, pg_url)
    first = cli("apply", "--yes", "spec.yaml")
    assert first.code == 0, first.text
    assert not (project.root / "spec.lock").exists()  # the state is in the database
    pulled = cli("state", "pull")
    assert pulled.code == 0, pulled.text
    assert "spec.lock: written (5 videos)" in pulled.out
    pulled_bytes = (project.root / "spec.lock").read_bytes()
    assert normalized(pulled_bytes) == normalized(lockfile_bytes)
    assert pulled_bytes.count(b"\n") == lockfile_bytes.count(b"\n")  # one record a line
    # Pulling again writes the same bytes: nothing changed.
    again = cli("state", "pull", "spec.yaml")
    assert "unchanged" in again.out and (project.root / "spec.lock").read_bytes() == pulled_bytes
    # The pulled lockfile is a whole state: on the lockfile backend nothing is to do.
    (project.root / "reelform.toml").unlink()
    before = sim.mark()
    plan = cli("plan", "--detailed-exitcode", "spec.yaml")
    assert plan.code == 0, plan.text
    assert cli("apply", "--yes", "spec.yaml").code == 0 and sim.posts(before) == []


def test_push_then_pull_in_another_clone_gives_the_same_bytes(
    cli: InProcess,
    sim: SimServer,
    project: Project,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    project.jogg_spec(4, name="team.yaml")
    assert cli("apply", "--yes", "team.yaml").code == 0
    original = (project.root / "team.lock").read_bytes()
    clone = tmp_path_factory.mktemp("clone") / "repo"
    shutil.copytree(project.root, clone, ignore=shutil.ignore_patterns("*.lock", "out"))

    use_postgres(project, monkeypatch, pg_url)
    pushed = cli("state", "push", "team.yaml")
    assert pushed.code == 0, pushed.text
    assert "records pushed (0 already there)" in pushed.out
    again = cli("state", "push", "team.yaml")
    assert again.code == 0 and "0 records pushed" in again.out  # the same rows: left

    (clone / "reelform.toml").write_text(POSTGRES)
    monkeypatch.chdir(clone)
    listed = cli("state", "list")
    assert "team.yaml: 4 videos (4 completed)" in listed.out, listed.text
    assert cli("state", "pull").code == 0
    assert (clone / "team.lock").read_bytes() == original
    # The clone lacks the outputs: apply downloads them, never renders again.
    before = sim.mark()
    done = cli("apply", "--yes", "team.yaml")
    assert done.code == 0, done.text
    assert sim.creates(before) == [] and len(list((clone / "out/team").iterdir())) == 4


def test_push_never_overwrites_a_row_that_differs(
    cli: InProcess, sim: SimServer, project: Project, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.jogg_spec(3)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    use_postgres(project, monkeypatch, pg_url)
    assert cli("state", "push", "spec.yaml").code == 0
    lock = project.root / "spec.lock"
    data = orjson.loads(lock.read_bytes())
    data["videos"]["v2"]["job_id"] = "another-job"
    from reelform.state.lockfile import dump_json

    lock.write_bytes(dump_json(data))
    refused = cli("state", "push", "spec.yaml")
    assert refused.code == 1, refused.text
    assert "videos 'v2'" in refused.err and "nothing was pushed" in refused.err
    state = project.lock()  # the database's
    assert state.videos["v2"].job_id != "another-job"


def test_state_commands_need_the_postgres_backend(local_cli: InProcess, project: Project) -> None:
    result = local_cli("state", "list")
    assert result.code == 1 and "PostgreSQL backend" in result.err, result.text


def test_list_shows_who_holds_a_spec(
    pg_server: PgServer,
    project: Project,
    pg_url: str,
    monkeypatch: pytest.MonkeyPatch,
    local_cli: InProcess,
) -> None:
    from reelform.state.pg.journal import session

    use_postgres(project, monkeypatch, pg_url)
    with session(pg_url) as pg, session(pg_url) as other:
        pg.acquire("spec.yaml", "spec.yaml", wait=False)
        ident = other.join("spec.yaml")
        assert other.claim(ident, "v1") is None and other.claim(ident, "v2") is None
        assert pg.claim(ident, "v1") == other.holder  # one runner per video
        listed = local_cli("state", "list")
    assert listed.code == 0, listed.text
    assert f"spec.yaml: 0 videos (no videos); applied by {pg.holder}" in listed.out
    assert f"{other.holder} is working on 2 of them" in listed.out
    after = local_cli("state", "list")
    assert "applied by" not in after.out  # released


def test_pull_of_a_spec_with_no_state_writes_no_lockfile(
    local_cli: InProcess, project: Project, pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write(
        "spec.yaml", 'version: 1\noutput: out\nvideos:\n  - {name: a, voice: {script: "A."}}\n'
    )
    use_postgres(project, monkeypatch, pg_url)
    result = local_cli("state", "pull", "spec.yaml")
    assert result.code == 0 and "no lockfile written" in result.out, result.text
    assert not Path(project.root / "spec.lock").exists()
