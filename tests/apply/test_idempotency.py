"""A second apply does nothing; uploads and photo avatars happen once.

docs/design.md, "Apply": "A second `apply` right after a successful one makes no submit
and no upload", and each asset is uploaded once per provider and content hash.
The simulator's request log is the witness.
"""

from __future__ import annotations

import hashlib

import pytest
from applykit import MIRAKO_VOICE, VOICE, InProcess, Project, SimServer, png_bytes, wav_bytes

from reelform.state.lockfile import dump_lock

#: Every test here on both state backends: lockfiles, and rows in PostgreSQL.
pytestmark = pytest.mark.usefixtures("state_backend")


def assert_second_apply_is_a_no_op(cli: InProcess, sim: SimServer, *targets: str) -> None:
    before = sim.mark()
    second = cli("apply", "--yes", *targets)
    assert second.code == 0, second.text
    assert "Plan: no changes" in second.out or "no changes" in second.out.lower(), second.out
    assert sim.posts(before) == [], [r.path for r in sim.posts(before)]
    assert sim.requests(before) == []  # not even a status poll or a download


def assert_outputs_match_lock(project: Project, spec: str = "spec.yaml") -> None:
    lock = project.lock(spec)
    for name, entry in lock.videos.items():
        assert entry.status == "completed", (name, entry)
        path = project.root / entry.output.path
        assert hashlib.sha256(path.read_bytes()).hexdigest() == entry.output.sha256


@pytest.mark.parametrize("api_version", ["v2", "v1"])
def test_jogg_second_apply_makes_no_request(
    cli: InProcess, sim: SimServer, project: Project, api_version: str
) -> None:
    project.jogg_spec(4, api_version=api_version)
    first = cli("apply", "--yes", "spec.yaml")
    assert first.code == 0, first.text
    assert len(sim.creates()) == 4
    assert all(f"/jogg/{api_version}/" in r.path for r in sim.creates())
    assert [p.name for p in project.outputs()] == ["v1.mp4", "v2.mp4", "v3.mp4", "v4.mp4"]
    assert_outputs_match_lock(project)
    assert_second_apply_is_a_no_op(cli, sim, "spec.yaml")


def mirako_project(project: Project) -> None:
    project.write("assets/face.png", png_bytes())
    project.write("assets/hello.wav", wav_bytes(1.0, 44100))
    project.write(
        "spec.yaml",
        f"""
        version: 1
        provider: mirako
        output: out/spec
        assets:
          face: assets/face.png
          hello: assets/hello.wav
        videos:
          - {{name: by-audio, image: face, voice: {{audio: hello}}}}
          - {{name: by-audio-2, image: face, voice: {{audio: hello}}}}
          - name: by-script
            image: face
            voice: {{script: "Hello from a script.", voice_id: {MIRAKO_VOICE}}}
    """,
    )


def test_mirako_audio_and_script_second_apply_makes_no_request(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    mirako_project(project)
    first = cli("apply", "--yes", "--no-reuse", "spec.yaml")  # by-audio-2: not a copy
    assert first.code == 0, first.text
    creates = sim.creates()
    assert len(creates) == 3
    tts = [r for r in sim.requests() if r.path == "/mirako/v1/speech/tts"]
    assert len(tts) == 1  # only the script voice is synthesised
    assert_outputs_match_lock(project)
    assert_second_apply_is_a_no_op(cli, sim, "spec.yaml")


def test_local_second_apply_renders_nothing(local_cli: InProcess, project: Project) -> None:
    project.write(
        "spec.yaml",
        """
        version: 1
        output: out/spec
        videos:
          - {name: hi, voice: {script: "Hi."}}
    """,
    )
    first = local_cli("apply", "--yes", "spec.yaml")
    assert first.code == 0, first.text
    mtime = (project.root / "out/spec/hi.mp4").stat().st_mtime_ns
    lock_bytes = dump_lock(project.lock())  # the lockfile's bytes, or the rows' as pulled
    second = local_cli("apply", "--yes", "spec.yaml")
    assert second.code == 0, second.text
    assert "submitted" not in second.err and "rendered" not in second.err
    assert (project.root / "out/spec/hi.mp4").stat().st_mtime_ns == mtime
    assert dump_lock(project.lock()) == lock_bytes


def shared_audio_spec(project: Project, name: str, count: int) -> None:
    project.write(
        name,
        f"""
        version: 1
        provider: jogg
        output: out/{name.removesuffix(".yaml")}
        assets:
          intro: assets/intro.wav
          same-bytes: assets/copy-of-intro.wav
        defaults:
          avatar: {{id: 81}}
        videos:
          - name: "a{{{{ loop.index }}}}"
            for_each: rows
            voice: {{audio: intro, voice_id: {VOICE}}}
          - {{name: copy, voice: {{audio: same-bytes, voice_id: {VOICE}}}}}
        data:
          rows: [{", ".join(f"{{n: {i}}}" for i in range(count))}]
    """,
    )


def test_an_asset_is_uploaded_once_per_provider_and_content(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """Ten videos in each of two specs, and a second file with the same bytes: one upload."""
    audio = wav_bytes(2.0, 16000, tone=3)
    project.write("specs/assets/intro.wav", audio)
    project.write("specs/assets/copy-of-intro.wav", audio)
    shared_audio_spec(project, "specs/one.yaml", 10)
    shared_audio_spec(project, "specs/two.yaml", 10)
    # Identical videos on purpose (one asset): each rendered, not a copy (plan/reuse.py).
    result = cli("apply", "--yes", "--no-reuse", "--parallel", "16", "specs")
    assert result.code == 0, result.text
    assert len(sim.uploads()) == 1
    puts = [r for r in sim.requests() if r.method == "PUT"]
    assert len(puts) == 1 and puts[0].body == audio
    assert len(sim.creates()) == 22
    urls = {r.json["voice"]["audio_url"] for r in sim.creates()}
    assert len(urls) == 1
    for spec in ("specs/one.yaml", "specs/two.yaml"):
        uploads = project.lock(spec).uploads
        assert [entry.url for entry in uploads.values()] == list(urls)
    assert_second_apply_is_a_no_op(cli, sim, "specs")


def test_a_photo_avatar_is_created_once_and_used_by_its_videos(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.write("assets/founder.png", png_bytes(800, 800))
    project.write(
        "spec.yaml",
        f"""
        version: 1
        provider: jogg
        output: out/spec
        assets: {{portrait: assets/founder.png}}
        avatars:
          founder: {{image: portrait, voice_id: {VOICE}, model: "2.0"}}
        defaults:
          avatar: {{photo: founder}}
          voice: {{voice_id: {VOICE}}}
        data: {{rows: [{{n: 1}}, {{n: 2}}, {{n: 3}}, {{n: 4}}, {{n: 5}}]}}
        videos:
          - name: "f{{{{ row.n }}}}"
            for_each: rows
            voice: {{script: "Update {{{{ row.n }}}}."}}
    """,
    )
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    motions = [r for r in sim.posts() if r.path == "/jogg/v2/photo_avatar/add_motion"]
    assert len(motions) == 1
    assert len(sim.uploads()) == 1
    lock = project.lock()
    [avatar] = lock.avatars.values()
    assert avatar.status == "completed"
    creates = sim.creates()
    assert len(creates) == 5
    # every video waited for the avatar and used it as a photo avatar
    assert {(r.json["avatar"]["avatar_id"], r.json["avatar"]["avatar_type"]) for r in creates} == {
        (avatar.avatar_id, 1)
    }
    assert min(r.time for r in creates) > motions[0].time
    assert_second_apply_is_a_no_op(cli, sim, "spec.yaml")
