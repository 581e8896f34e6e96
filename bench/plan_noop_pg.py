"""Benchmark: a no-op `reelform plan` of N videos whose state is in PostgreSQL.

The project of bench/plan_noop.py (a CSV of N rows, one templated video per row,
every video completed, every output file present), its lockfile imported into a
private PostgreSQL server (`state push`) and the lockfile removed; then
`reelform plan --detailed-exitcode` is timed as a subprocess, beside the same plan
from the lockfile, each cold (no expansion memo: `.reelform/cache/` removed before
each run, so the spec is expanded) and warm (with the memo the cold runs wrote:
the spec is not expanded). Target (issue 12): N = 100,000 from the database in at
most 1.5 s. The server is a private cluster (tests/pgkit.py) with fsync on.

    .venv/bin/python bench/plan_noop_pg.py [--sizes 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))

from pgkit import running_server
from plan_noop import TEMPLATE, build, time_plan


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
            lock_cold = time_plan(spec, args.repeat, cold=True, env=lockfile_env)
            lock_warm = time_plan(spec, args.repeat, cold=False, env=lockfile_env)

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
            pg_cold = time_plan(spec, args.repeat, cold=True, env=env)
            pg_warm = time_plan(spec, args.repeat, cold=False, env=env)
            for backend, cold, warm in (
                ("PostgreSQL", pg_cold, pg_warm),
                ("the lockfile", lock_cold, lock_warm),
            ):
                print(
                    f"N={size:>7,}: no-op plan from {backend}: cold {cold[0]:5.2f} s wall "
                    f"({cold[1]:5.2f} s CPU), warm {warm[0]:5.2f} s wall ({warm[1]:5.2f} s CPU)"
                )


if __name__ == "__main__":
    main()
