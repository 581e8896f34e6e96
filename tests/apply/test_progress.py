"""What apply tells: a JSON event stream, plain lines, or a live display on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

from applykit import InProcess, Project, SimServer, subprocess_env


def test_json_is_one_parseable_event_per_line(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(3)
    result = cli("apply", "--yes", "--json", "spec.yaml")
    assert result.code == 0, result.text
    events = [json.loads(line) for line in result.out.splitlines()]  # nothing else on stdout
    kinds = [e["event"] for e in events]
    for kind in ("submitted", "rendered", "downloaded"):
        assert sorted(e["name"] for e in events if e["event"] == kind) == ["v1", "v2", "v3"]
    assert {"event": "planned", "phase": "render", "count": 3}.items() <= next(
        e for e in events if e.get("phase") == "render"
    ).items()
    assert all(isinstance(e["t"], float | int) for e in events)
    assert kinds.index("submitted") < kinds.index("rendered") < kinds.index("downloaded")
    assert "Apply: 3 completed." in result.err


def test_plain_mode_prints_one_line_per_event(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(3)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    lines = result.err.splitlines()
    pattern = re.compile(r"^\[\s*\d+\.\d+s\] (submitted|rendered|downloaded)\s+(v\d)\s")
    matches = [pattern.match(line) for line in lines]
    assert all(matches), lines
    assert sorted((m.group(1), m.group(2)) for m in matches if m) == sorted(
        (kind, f"v{i}") for kind in ("submitted", "rendered", "downloaded") for i in (1, 2, 3)
    )
    assert "Apply: 3 completed." in result.out


def test_a_terminal_gets_the_live_display(sim: SimServer, project: Project) -> None:
    project.jogg_spec(3)
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "reelform", "apply", "--yes", "spec.yaml"],
        cwd=project.root,
        env=subprocess_env(sim.env()),
        stdin=follower,
        stdout=follower,
        stderr=follower,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the other side is closed
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    assert process.wait(timeout=60) == 0
    text = b"".join(chunks).decode(errors="replace")
    assert "renders" in text and "downloads" in text and "3/3" in text, text
    assert "[    " not in text  # not the plain lines


def test_uploads_and_photo_avatars_are_planned_phases_too(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    from applykit import VOICE, png_bytes, wav_bytes

    project.write("assets/founder.png", png_bytes(800, 800))
    project.write("assets/intro.wav", wav_bytes(1.0, 44100))
    project.write(
        "spec.yaml",
        f"""
        version: 1
        provider: jogg
        output: out/spec
        assets: {{portrait: assets/founder.png, intro: assets/intro.wav}}
        avatars:
          founder: {{image: portrait, voice_id: {VOICE}}}
        defaults:
          avatar: {{photo: founder}}
          voice: {{voice_id: {VOICE}}}
        videos:
          - {{name: f1, voice: {{audio: intro}}}}
          - {{name: f2, voice: {{audio: intro}}}}
          - {{name: f3, voice: {{script: "Three."}}}}
    """,
    )

    def phases(result_out: str) -> tuple[dict[str, int], dict[str, int]]:
        events = [json.loads(line) for line in result_out.splitlines()]
        planned = {e["phase"]: e["count"] for e in events if e["event"] == "planned"}
        done: dict[str, int] = {}
        for e in events:
            done[e["event"]] = done.get(e["event"], 0) + 1
        return planned, done

    first = cli("apply", "--yes", "--no-reuse", "--json", "spec.yaml")  # f2 is f1's equal
    assert first.code == 0, first.text
    planned, done = phases(first.out)
    # The portrait and the audio, each once however many videos use them; one avatar.
    assert planned == {"upload": 2, "avatar": 1, "render": 3, "download": 3}
    assert (done["uploaded"], done["avatar-ready"], done["rendered"]) == (2, 1, 3)

    # A changed script: its video renders again; the uploads and the avatar are known.
    spec = project.root / "spec.yaml"
    spec.write_text(spec.read_text().replace("Three.", "Three again."))
    second = cli("apply", "--yes", "--json", "spec.yaml")
    assert second.code == 0, second.text
    planned, done = phases(second.out)
    assert planned == {"upload": 0, "avatar": 0, "render": 1, "download": 1}
    assert "uploaded" not in done and "avatar-ready" not in done
