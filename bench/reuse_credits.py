"""Figure: the JoggAI credits a duplicated video costs, from the simulator's ledger.

Copies the example specs (``specs/``) into a temporary git repository, then:

1. duplicates one customer row of ``data/customers.csv`` (another id, the same
   name, company and plan: the same script and title, so the same render);
2. adds a second spec beside ``jogg-onboarding.yaml`` that asks for the same
   customers' videos under other names (another team's copy of the campaign);

and applies ``jogg-onboarding.yaml``, then the second spec, against the JoggAI
simulator on loopback, reading what the simulator made and charged for
(``Simulator.made``). Run it once with this checkout and once with another
reelform's engine folder to compare (``--engine``: put first on PYTHONPATH):

    .venv/bin/python bench/reuse_credits.py
    .venv/bin/python bench/reuse_credits.py --engine /tmp/main/engine   # e.g. main
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from reelform.sim import SimConfig, create_app, serve_in_thread

SCALE = 0.001  # one provider minute lasts 60 ms
HERE = Path(__file__).resolve().parent.parent


def apply(spec: str, folder: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "reelform", "apply", "--yes", spec],
        cwd=folder,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0:
        raise SystemExit(f"apply {spec} failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", type=Path, help="a reelform engine folder to run instead")
    args = parser.parse_args()
    app = create_app(SimConfig(time_scale=SCALE, seed=7, rate_window_seconds=60 * SCALE))
    sim = app.state.sim
    with (
        tempfile.TemporaryDirectory(prefix="reelform-reuse-") as tmp,
        serve_in_thread(app=app) as base,
    ):
        repo = Path(tmp)
        (repo / ".git").mkdir()  # the repository root (neighbours.py)
        shutil.copytree(HERE / "specs", repo / "specs")
        shutil.copytree(HERE / "templates", repo / "templates")
        customers = repo / "specs" / "data" / "customers.csv"
        rows = customers.read_text().splitlines()
        first = rows[1].split(",")
        customers.write_text("\n".join([*rows, ",".join(["1005", *first[1:]])]) + "\n")
        onboarding = repo / "specs" / "jogg-onboarding.yaml"
        text = onboarding.read_text()
        second = text.replace('name: "onboarding-{{ row.id }}"', 'name: "welcome-{{ row.id }}"')
        second = second.replace("name: jogg-onboarding", "name: jogg-onboarding-eu")
        second = second.replace("../out/jogg-onboarding", "../out/jogg-onboarding-eu")
        (repo / "specs" / "jogg-onboarding-eu.yaml").write_text(second)
        env = {
            **os.environ,
            "JOGG_BASE_URL": f"{base}/jogg",
            "JOGG_API_KEY": "jk_reuse_figure_0001",
            "REELFORM_TIME_SCALE": str(SCALE),
        }
        if args.engine is not None:
            env["PYTHONPATH"] = str(args.engine.resolve())
        apply("specs/jogg-onboarding.yaml", repo, env)
        first_run = list(sim.made)
        apply("specs/jogg-onboarding-eu.yaml", repo, env)
        second_run = sim.made[len(first_run) :]

    def credits(made: list[Any]) -> float:
        return float(sum(m.cost for m in made))

    def line(spec: str, made: list[Any]) -> str:
        videos = [m for m in made if m.kind.startswith("jogg_v")]
        return (
            f"{spec}: {len(videos)} renders, {credits(videos):g} credits for videos, "
            f"{credits(made) - credits(videos):g} for photo-avatar motions"
        )

    print(f"engine: {args.engine or HERE / 'engine'}")
    print(line("jogg-onboarding.yaml (5 videos; onboarding-1005 repeats 1001)", first_run))
    print(line("jogg-onboarding-eu.yaml (the same 5 videos, other names)", second_run))


if __name__ == "__main__":
    main()
