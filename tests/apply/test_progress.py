"""What apply tells: a JSON event stream, plain lines, or a live display on a terminal."""

from __future__ import annotations

import json
import os
import pty
import re
import subprocess
import sys

from applykit import InProcess, Project, SimServer, subprocess_env


def test_json_is_one_parseable_event_per_line(cli: InProcess, sim: SimServer,
                                              project: Project) -> None:
    project.jogg_spec(3)
    result = cli("apply", "--yes", "--json", "spec.yaml")
    assert result.code == 0, result.text
    events = [json.loads(line) for line in result.out.splitlines()]  # nothing else on stdout
    kinds = [e["event"] for e in events]
    for kind in ("submitted", "rendered", "downloaded"):
        assert sorted(e["name"] for e in events if e["event"] == kind) == ["v1", "v2", "v3"]
    assert {"event": "planned", "phase": "render", "count": 3}.items() <= \
        next(e for e in events if e.get("phase") == "render").items()
    assert all(isinstance(e["t"], float | int) for e in events)
    assert kinds.index("submitted") < kinds.index("rendered") < kinds.index("downloaded")
    assert "Apply: 3 completed." in result.err


def test_plain_mode_prints_one_line_per_event(cli: InProcess, sim: SimServer,
                                              project: Project) -> None:
    project.jogg_spec(3)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    lines = result.err.splitlines()
    pattern = re.compile(r"^\[\s*\d+\.\d+s\] (submitted|rendered|downloaded)\s+(v\d)\s")
    matches = [pattern.match(line) for line in lines]
    assert all(matches), lines
    assert sorted((m.group(1), m.group(2)) for m in matches if m) == sorted(
        (kind, f"v{i}") for kind in ("submitted", "rendered", "downloaded") for i in (1, 2, 3))
    assert "Apply: 3 completed." in result.out


def test_a_terminal_gets_the_live_display(sim: SimServer, project: Project) -> None:
    project.jogg_spec(3)
    leader, follower = pty.openpty()
    process = subprocess.Popen([sys.executable, "-m", "reelform", "apply", "--yes", "spec.yaml"],
                               cwd=project.root, env=subprocess_env(sim.env()),
                               stdin=follower, stdout=follower, stderr=follower)
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
