"""Benchmark: one spec of N instant videos applied by 1 runner, then by 2 at once.

The state in PostgreSQL (a private server, tests/pgkit.py, fsync on); each runner an
`apply` process in a clone of its own (the same repository, copied), against the
instant simulator of bench/apply_overhead.py (renders complete at once, no rate
limit). Throughput = videos / wall time from the first start to the last exit.
Target (issue 12): two runners at least 1.5 times one runner's throughput.

    .venv/bin/python bench/apply_runners_pg.py [--videos 10000] [--runners 1 2]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from apply_common import env_for, jogg_project, simulator
from apply_overhead import SCALE, SIM
from pgkit import running_server


def run(count: int, runners: int, base: str, url: str) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        jogg_project(root, count)
        (root / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
        clones = [root]
        for i in range(1, runners):
            clones.append(Path(tmp) / f"clone{i}")
            shutil.copytree(root, clones[-1])
        env = {**env_for(base, SCALE), "REELFORM_STATE_URL": url}
        started = time.perf_counter()
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "reelform", "apply", "--yes", "--json", "spec.yaml"],
                cwd=clone,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
                text=True,
            )
            for clone in clones
        ]
        for process in processes:
            _, err = process.communicate()
            if process.returncode:
                raise SystemExit(err[-3000:])
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    rates: dict[int, float] = {}
    with running_server(fsync=True) as server, simulator(**SIM) as base:
        for runners in args.runners:
            url = server.create_database(f"runners_{runners}")
            elapsed = run(args.videos, runners, base, url)
            rates[runners] = args.videos / elapsed
            print(
                f"{runners} runner(s), {args.videos:,} videos: {elapsed:6.1f} s wall, "
                f"{rates[runners]:6.1f} videos/s"
            )
    if 1 in rates and 2 in rates:
        print(f"2 runners / 1 runner throughput = {rates[2] / rates[1]:.2f} (target >= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
