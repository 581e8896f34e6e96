"""Figure: what a rename and a title edit cost, before and after, from the simulator's log.

For each source tree (``--before``: main, e.g. ``git archive main | tar -x -C DIR``;
``--after``: this one), on a fresh copy of the example specs (``specs/`` and
``templates/``), against the JoggAI and Mirako simulators served here on loopback:

1. ``apply`` each spec: the first renders, paid;
2. rename: the per-row ``name:`` template changed (``onboarding-`` to ``welcome-``,
   ``hello-`` to ``greeting-``), then ``apply --yes --prune``;
3. title edit: the per-row ``title:`` changed, then ``apply --yes --prune``.

Per step it counts the creates in the simulator's request log (the POSTs that make
a video) and the credits the simulators charged (their balances before and after).
Prints a markdown table (the README's figure).

    .venv/bin/python bench/rename_cost.py --before /tmp/main-tree [--after .]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from reelform.sim import SimConfig, Simulator, create_app, serve_in_thread

SCALE = 0.001  # one provider minute lasts 60 ms, as in the tests
CREATES = (
    "/jogg/v2/create_video_from_avatar",
    "/jogg/v1/create_video_from_talking_avatar",
    "/mirako/v1/video/async_generate_talking_avatar",
)
#: spec -> (the rename, the title edit): each an (old, new) text of the spec file.
EDITS = {
    "jogg-onboarding.yaml": (
        ('name: "onboarding-{{ row.id }}"', 'name: "welcome-{{ row.id }}"'),
        ('title: "Welcome {{ row.company }}"', 'title: "Hello {{ row.company }}"'),
    ),
    "mirako-hello.yaml": (
        ('name: "hello-{{ row.code }}"', 'name: "greeting-{{ row.code }}"'),
        ('title: "Hello from {{ row.code }}"', 'title: "Hi from {{ row.code }}"'),
    ),
}
STEPS = ("first apply", "rename", "title edit")


@dataclass(frozen=True)
class Cost:
    creates: int
    credits: float


def measure(tree: Path, repository: Path) -> dict[tuple[str, str], Cost]:
    """(spec, step) -> what the step cost at the simulators, with ``tree``'s reelform."""
    config = SimConfig(time_scale=SCALE, seed=7, rate_window_seconds=60 * SCALE)
    app = create_app(config)
    sim: Simulator = app.state.sim
    costs: dict[tuple[str, str], Cost] = {}
    with (
        tempfile.TemporaryDirectory(prefix="reelform-rename-") as tmp,
        serve_in_thread(app=app) as base,
    ):
        root = Path(tmp)
        shutil.copytree(repository / "specs", root / "specs")
        shutil.copytree(repository / "templates", root / "templates")
        env = {
            **os.environ,
            "PYTHONPATH": str(tree / "engine"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "JOGG_BASE_URL": f"{base}/jogg",
            "MIRAKO_BASE_URL": f"{base}/mirako",
            "JOGG_API_KEY": "jk_rename_cost_figure",
            "MIRAKO_API_KEY": "mk_rename_cost_figure",
            "REELFORM_TIME_SCALE": str(SCALE),
            "NO_COLOR": "1",
        }
        for spec, edits in EDITS.items():
            path = root / "specs" / spec
            for step, edit in zip(STEPS, (None, *edits), strict=True):
                if edit is not None:
                    old, new = edit
                    text = path.read_text(encoding="utf-8")
                    if old not in text:
                        raise SystemExit(f"{spec}: {old!r} not found; update EDITS")
                    path.write_text(text.replace(old, new), encoding="utf-8")
                mark = len(sim.requests)
                balance = sim.jogg_credits + sim.mirako_credits
                result = subprocess.run(
                    [sys.executable, "-m", "reelform", "apply", "--yes", "--prune", str(path)],
                    env=env,
                    cwd=root,
                    capture_output=True,
                    text=True,
                    check=False,
                )
                if result.returncode != 0:
                    raise SystemExit(
                        f"{tree}: apply of {spec} ({step}) exited {result.returncode}:\n"
                        f"{result.stdout[-3000:]}{result.stderr[-3000:]}"
                    )
                # A create the simulator answered with an error made nothing.
                made = [
                    r
                    for r in sim.requests[mark:]
                    if r.method == "POST"
                    and r.path in CREATES
                    and r.status is not None
                    and r.status < 400
                ]
                creates = len(made)
                spent = balance - (sim.jogg_credits + sim.mirako_credits)
                costs[(spec, step)] = Cost(creates, spent)
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the tree to compare with")
    parser.add_argument("--after", type=Path, default=Path(__file__).resolve().parent.parent)
    args = parser.parse_args()
    repository = Path(__file__).resolve().parent.parent
    before = measure(args.before.resolve(), repository)
    after = measure(args.after.resolve(), repository)
    print("| spec | step | creates before | credits before | creates after | credits after |")
    print("|---|---|---:|---:|---:|---:|")
    for spec in EDITS:
        for step in STEPS:
            old, new = before[(spec, step)], after[(spec, step)]
            print(
                f"| `{spec}` | {step} | {old.creates} | {old.credits:g} | "
                f"{new.creates} | {new.credits:g} |"
            )


if __name__ == "__main__":
    main()
