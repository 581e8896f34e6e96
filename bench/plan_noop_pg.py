"""Benchmark: a no-op `reelform plan` of N videos whose state is in PostgreSQL.

The project of bench/plan_noop.py (a CSV of N rows, one templated video per row,
every video completed, every output file present), its lockfile imported into a
private PostgreSQL server (`state push`) and the lockfile removed; then
`reelform plan --detailed-exitcode` is timed as a subprocess, beside the same plan
from the lockfile. Target (issue 12): N = 100,000 from the database in at most
1.5 s. The server is a private cluster (tests/pgkit.py) with fsync on.

    .venv/bin/python bench/plan_noop_pg.py [--sizes 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from pgkit import running_server
from plan_noop import TEMPLATE, build


def time_plan(spec: Path, repeat: int, env: dict[str, str]) -> tuple[float, float]:
    """Best wall time and best CPU time (user + system, of the child) of a plan."""
    best = best_cpu = float("inf")
    for _ in range(repeat):
        before = os.times()
        start = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "reelform", "plan", str(spec), "--detailed-exitcode"],
            capture_output=True,
            text=True,
            env=env,
            cwd=spec.parent,
        )
        elapsed = time.perf_counter() - start
        after = os.times()
        if result.returncode != 0:
            raise SystemExit(
                f"plan did not report 'no changes':\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )
        best = min(best, elapsed)
        cpu = (after.children_user - before.children_user) + (
            after.children_system - before.children_system
        )
        best_cpu = min(best_cpu, cpu)
    return best, best_cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="reelform-bench-pg-") as tmp,
        running_server(fsync=True) as server,
    ):
        for size in args.sizes:
            folder = Path(tmp) / f"n{size}"
            spec = build(folder, size, TEMPLATE)
            lockfile_env = {**os.environ}
            lockfile_env.pop("REELFORM_STATE_URL", None)
            lock_wall, lock_cpu = time_plan(spec, args.repeat, lockfile_env)

            url = server.create_database(f"bench_{size}")
            env = {**os.environ, "REELFORM_STATE_URL": url}
            (folder / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
            pushed = subprocess.run(
                [sys.executable, "-m", "reelform", "state", "push", str(spec)],
                capture_output=True,
                text=True,
                env=env,
                cwd=folder,
            )
            if pushed.returncode != 0:
                raise SystemExit(pushed.stderr)
            lock = spec.with_suffix(".lock")
            shutil.move(lock, folder / "lock.bak")  # the state is in the database alone
            subprocess.run(
                [server.bindir / "vacuumdb", "-q", "-z", url], check=False, capture_output=True
            )
            pg_wall, pg_cpu = time_plan(spec, args.repeat, env)
            print(
                f"N={size:>7,}: no-op plan from PostgreSQL {pg_wall:5.2f} s wall "
                f"({pg_cpu:5.2f} s CPU); from the lockfile {lock_wall:5.2f} s wall "
                f"({lock_cpu:5.2f} s CPU)"
            )


if __name__ == "__main__":
    main()
