"""Benchmark: the no-op `reelform plan` of two source trees, alternated, in CPU time.

On a shared machine a wall-time figure measured at one moment says more about the
neighbours than about the code. This builds the project of ``bench/plan_noop.py``
once per tree (with that tree's code: fingerprints may differ between them), then
runs `reelform plan --detailed-exitcode` of each in turn, ``--rounds`` times, in an
order that alternates (ABBA...), and reports per tree the median and best CPU time
(user + system, the plan process and its preload child) and wall time. Each run
first removes the expansion memo (`.reelform/cache/`): this compares the full
path, which expands the spec (bench/plan_noop.py times the memo's warm path).

    .venv/bin/python bench/plan_noop_compare.py --before /tmp/main-tree --after . \\
        [--rows 100000] [--rounds 6]

A tree is a folder holding ``engine/`` and ``bench/`` (a worktree, or
``git archive main | tar -x -C DIR``).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUILD = """\
import sys
from pathlib import Path
sys.path.insert(0, sys.argv[1])
from plan_noop import build
print(build(Path(sys.argv[2]), int(sys.argv[3])))
"""


def environment(tree: Path) -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(tree / "engine"), "PYTHONDONTWRITEBYTECODE": "1"}


def build(tree: Path, folder: Path, rows: int) -> Path:
    result = subprocess.run(
        [sys.executable, "-c", BUILD, str(tree / "bench"), str(folder), str(rows)],
        env=environment(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"building the project of {tree} failed:\n{result.stderr[-3000:]}")
    return Path(result.stdout.strip().splitlines()[-1])


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_plan(tree: Path, spec: Path) -> tuple[float, float]:
    """CPU seconds and wall seconds of one no-op plan, without the expansion memo."""
    shutil.rmtree(spec.parent / ".reelform" / "cache", ignore_errors=True)
    cpu, start = children_cpu(), time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-m", "reelform", "plan", str(spec), "--detailed-exitcode"],
        env=environment(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    if result.returncode != 0:
        raise SystemExit(
            f"{tree}: plan did not report 'no changes' (exit {result.returncode}):\n"
            f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return children_cpu() - cpu, wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the tree to compare with")
    parser.add_argument("--after", type=Path, required=True, help="the tree under test")
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    trees = {"before": args.before.resolve(), "after": args.after.resolve()}
    cpu: dict[str, list[float]] = {name: [] for name in trees}
    wall: dict[str, list[float]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="reelform-bench-") as tmp:
        specs = {name: build(tree, Path(tmp) / name, args.rows) for name, tree in trees.items()}
        for name, tree in trees.items():
            run_plan(tree, specs[name])  # warm the page cache; not counted
        for round_number in range(args.rounds):
            order = ["before", "after"] if round_number % 2 == 0 else ["after", "before"]
            for name in order:
                seconds, elapsed = run_plan(trees[name], specs[name])
                cpu[name].append(seconds)
                wall[name].append(elapsed)
    for name in trees:
        print(
            f"{name:>6} ({trees[name]}): CPU median {statistics.median(cpu[name]):.2f} s, "
            f"best {min(cpu[name]):.2f} s; wall median {statistics.median(wall[name]):.2f} s, "
            f"best {min(wall[name]):.2f} s  (N={args.rows:,}, {args.rounds} runs)"
        )
    ratio = statistics.median(cpu["after"]) / statistics.median(cpu["before"])
    best = min(cpu["after"]) / min(cpu["before"])
    print(f"after / before, CPU: median {ratio:.3f}, best {best:.3f}")


if __name__ == "__main__":
    main()
