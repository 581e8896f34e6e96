"""Reuse, end to end: identical renders are paid for once (plan/reuse.py, apply/copies.py).

Real HTTP against the JoggAI simulator on loopback; its ledger (``sim.made``, what it
made and charged for) and request log are the witnesses that a copy made no create.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from applykit import VOICE, InProcess, Project, SimServer


def duplicated_spec(project: Project, name: str = "spec.yaml", texts: tuple[str, ...] = ()) -> Path:
    """One JoggAI video per CSV row; rows with the same text are the same render."""
    stem = Path(name).stem
    texts = texts or ("Hello there", "Hello there", "Something else", "Hello there")
    rows = "id,text\n" + "".join(f"{i},{text}\n" for i, text in enumerate(texts, 1))
    project.write(f"data/{stem}.csv", rows)
    return project.write(
        name,
        f"""
        version: 1
        provider: jogg
        output: out/{stem}
        data: {{rows: data/{stem}.csv}}
        defaults:
          avatar: {{id: 81}}
          voice: {{voice_id: {VOICE}}}
        videos:
          - name: "v{{{{ row.id }}}}"
            for_each: rows
            voice: {{script: "{{{{ row.text }}}}"}}
        """,
    )


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_identical_rows_render_once(cli: InProcess, sim: SimServer, project: Project) -> None:
    duplicated_spec(project)
    planned = cli("plan", "--json", "spec.yaml")
    assert planned.code == 0, planned.text
    items = {i["name"]: i for i in json.loads(planned.out)["specs"][0]["items"]}
    assert {n: i["action"] for n, i in items.items()} == {
        "v1": "create",
        "v2": "copy",
        "v3": "create",
        "v4": "copy",
    }
    assert items["v2"]["copy_of"] == {"spec": "spec.yaml", "name": "v1"}

    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert len(sim.creates()) == 2, [r.path for r in sim.creates()]
    assert len(sim.sim.made) == 2
    out = project.root / "out" / "spec"
    assert sha(out / "v2.mp4") == sha(out / "v1.mp4") == sha(out / "v4.mp4")
    lock = project.lock()
    assert lock.videos["v2"].copied_from == {"spec": "spec.yaml", "name": "v1"}
    assert lock.videos["v2"].job_id is None
    again = cli("plan", "--detailed-exitcode", "spec.yaml")
    assert again.code == 0, again.text
