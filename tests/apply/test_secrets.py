"""Keys never reach a lockfile, journal, plan file, stdout or stderr (docs/design.md, "Secrets")."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from applykit import (
    JOGG_KEY,
    MIRAKO_KEY,
    MIRAKO_VOICE,
    Project,
    SimServer,
    png_bytes,
    run_cli,
    start_cli,
    wav_bytes,
)

SECRETS = (JOGG_KEY, MIRAKO_KEY)


def assert_no_secret(where: str, text: str | bytes) -> None:
    data = text.encode() if isinstance(text, str) else text
    for secret in SECRETS:
        assert secret.encode() not in data, f"{secret} found in {where}"


def both_providers(project: Project) -> None:
    project.jogg_spec(6)
    project.write("assets/face.png", png_bytes())
    project.write("assets/hello.wav", wav_bytes(1.0, 44100))
    project.write(
        "mirako.yaml",
        f"""
        version: 1
        provider: mirako
        output: out/mirako
        assets: {{face: assets/face.png, hello: assets/hello.wav}}
        videos:
          - {{name: m-audio, image: face, voice: {{audio: hello}}}}
          - {{name: m-script, image: face, voice: {{script: "Hi.", voice_id: {MIRAKO_VOICE}}}}}
    """,
    )


def every_file(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and p.suffix != ".mp4"]


def test_keys_appear_nowhere(sim: SimServer, project: Project) -> None:
    both_providers(project)
    env = sim.env()
    seen: list[tuple[str, str | bytes]] = []

    plan = run_cli(["plan", "--out", "saved.plan", "spec.yaml", "mirako.yaml"], env, project.root)
    assert plan.code == 0, plan.text
    seen += [
        ("plan stdout", plan.out),
        ("plan stderr", plan.err),
        ("plan file", (project.root / "saved.plan").read_bytes()),
    ]

    # Killed mid-run, so that the journal is still there to be read.
    process = start_cli(["apply", "--yes", "--json", "spec.yaml", "mirako.yaml"], env, project.root)
    journal = project.root / "spec.lock.journal"
    deadline = time.monotonic() + 30
    while b'"submitted"' not in (journal.read_bytes() if journal.exists() else b""):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    out, err = process.communicate()
    seen += [("journal", journal.read_bytes()), ("killed stdout", out), ("killed stderr", err)]

    plain = run_cli(
        ["apply", "--yes", "--resubmit-unknown", "spec.yaml", "mirako.yaml"], env, project.root
    )
    assert plain.code == 0, plain.text
    seen += [("apply stdout", plain.out), ("apply stderr", plain.err)]
    (project.root / "spec.lock").unlink()
    as_json = run_cli(
        ["apply", "--yes", "--json", "--replace", "*", "spec.yaml", "mirako.yaml"],
        env,
        project.root,
    )
    assert as_json.code == 0, as_json.text
    assert '"event": "submitted"' in as_json.out or '"event":"submitted"' in as_json.out
    seen += [("json stdout", as_json.out), ("json stderr", as_json.err)]

    # Invalid keys: JoggAI answers 10105, Mirako 401; the keys are still not printed.
    sim.config.jogg_api_keys = {"jk_the_only_valid_key"}
    sim.config.mirako_api_keys = {"mk_the_only_valid_key"}
    (project.root / "spec.lock").unlink()
    (project.root / "mirako.lock").unlink()
    for args in (["apply", "--yes"], ["apply", "--yes", "--json"]):
        failing = run_cli([*args, "spec.yaml", "mirako.yaml"], env, project.root)
        assert failing.code == 1, failing.text
        assert "10105" in failing.text or "invalid" in failing.text.lower(), failing.text
        seen += [("failing stdout", failing.out), ("failing stderr", failing.err)]

    for path in every_file(project.root):
        seen.append((str(path.relative_to(project.root)), path.read_bytes()))
    assert any(name == "spec.lock" for name, _ in seen)
    for where, text in seen:
        assert_no_secret(where, text)


def test_keys_from_a_dotenv_file_are_used_and_kept_out_of_the_lock(
    sim: SimServer, project: Project
) -> None:
    """docs/design.md, "Secrets": keys come from the environment or a `.env` file."""
    project.jogg_spec(2)
    project.write(".env", f"JOGG_API_KEY={JOGG_KEY}\n")
    env = {k: v for k, v in sim.env().items() if k != "JOGG_API_KEY"}
    assert "JOGG_API_KEY" not in os.environ
    result = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    assert result.code == 0, result.text
    assert len(sim.creates()) == 2
    assert_no_secret("lockfile", (project.root / "spec.lock").read_bytes())
    assert_no_secret("output", result.text)
