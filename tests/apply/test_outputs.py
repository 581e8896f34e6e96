"""Output files: missing or edited ones are downloaded again, never rendered again;
the local provider writes real MP4 files and nothing else."""

from __future__ import annotations

import hashlib

import pytest
from applykit import InProcess, Project, SimServer

#: On both state backends: lockfiles, and rows in PostgreSQL.
pytestmark = pytest.mark.usefixtures("state_backend")


def test_missing_and_edited_outputs_are_downloaded_not_rendered(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(3)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    lock = project.lock()
    (project.root / "out/spec/v1.mp4").unlink()
    edited = project.root / "out/spec/v2.mp4"
    edited.write_bytes(edited.read_bytes()[:-10] + b"0123456789")
    plan = cli("plan", "spec.yaml")
    assert "output file missing" in plan.out
    assert "output file differs from the recorded sha256" in plan.out

    before = sim.mark()
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert sim.posts(before) == [] and sim.status_gets(before) == []
    fetched = sorted(r.path for r in sim.requests(before))
    assert fetched == sorted(f"/jogg/_files/{lock.videos[n].job_id}.mp4" for n in ("v1", "v2"))
    after = project.lock()
    for name in ("v1", "v2", "v3"):
        data = (project.root / f"out/spec/{name}.mp4").read_bytes()
        assert hashlib.sha256(data).hexdigest() == lock.videos[name].output.sha256
        assert after.videos[name].job_id == lock.videos[name].job_id
    assert [p.name for p in project.outputs()] == ["v1.mp4", "v2.mp4", "v3.mp4"]
    assert cli("plan", "--detailed-exitcode", "spec.yaml").code == 0


def test_local_apply_writes_real_mp4_files_and_nothing_else(
    local_cli: InProcess, project: Project
) -> None:
    import av

    project.write(
        "spec.yaml",
        """
        version: 1
        output: out/spec
        data: {rows: [{n: 1}, {n: 2}]}
        videos:
          - name: "local-{{ row.n }}"
            for_each: rows
            avatar: {id: 2}
            aspect: landscape
            voice: {script: "Hello number {{ row.n }}."}
    """,
    )
    result = local_cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    names = sorted(p.name for p in (project.root / "out/spec").iterdir())
    assert names == ["local-1.mp4", "local-2.mp4"]  # no partials, no job files
    lock = project.lock()
    for name in ("local-1", "local-2"):
        path = project.root / "out/spec" / f"{name}.mp4"
        assert hashlib.sha256(path.read_bytes()).hexdigest() == lock.videos[name].output.sha256
    with av.open(str(project.root / "out/spec/local-1.mp4")) as container:
        stream = container.streams.video[0]
        frames = [frame for _, frame in zip(range(3), container.decode(stream), strict=False)]
        assert len(frames) == 3
        assert stream.codec_context.width > stream.codec_context.height  # landscape
        assert container.streams.audio, "the voice track is missing"


def test_an_unwritable_output_fails_that_video_only(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """A folder where v2.mp4 should go: v2 fails with a reason, the others complete."""
    project.jogg_spec(3)
    (project.root / "out/spec/v2.mp4").mkdir(parents=True)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert "Traceback" not in result.text and "internal error" not in result.text
    assert "Apply: 2 completed, 1 failed." in result.out
    assert "v2 (spec.yaml): download failed" in result.out
    lock = project.lock()
    assert lock.videos["v1"].output.sha256 and lock.videos["v3"].output.sha256
    assert not [
        p.name for p in (project.root / "out/spec").iterdir() if p.name.startswith(".reelform-")
    ]
    (project.root / "out/spec/v2.mp4").rmdir()
    before = sim.mark()
    again = cli("apply", "--yes", "spec.yaml")
    assert again.code == 0, again.text
    assert sim.creates(before) == []  # downloaded again, not rendered again


def test_an_expired_output_url_is_asked_again_not_rendered_again(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    from dataclasses import replace

    project.jogg_spec(2)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    state = project.lock()
    entry = state.videos["v1"]
    assert entry.output is not None
    real_url = entry.output.url
    expired = replace(entry.output, url=f"{sim.base}/jogg/_files/expired.mp4")
    state.videos["v1"] = replace(entry, output=expired)
    project.write_state(state)
    (project.root / "out/spec/v1.mp4").unlink()
    before = sim.mark()
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert sim.posts(before) == []
    assert [r.path for r in sim.status_gets(before)] == [
        f"/jogg/v2/avatar_video/{state.videos['v1'].job_id}"
    ]
    entry = project.lock().videos["v1"]
    assert entry.output.url == real_url
    data = (project.root / "out/spec/v1.mp4").read_bytes()
    assert hashlib.sha256(data).hexdigest() == entry.output.sha256
