"""Benchmark: one spec of N instant videos applied by 1 runner, then by 2 at once.

The state in PostgreSQL (a private server, tests/pgkit.py, fsync on); each runner an
`apply` process in a clone of its own (the same repository, copied), against the
instant simulator of bench/apply_overhead.py (renders complete at once, no rate
limit). Throughput = videos / wall time from the first start to the last exit.
Target (issue 12): two runners at least 1.5 times one runner's throughput.

Beside the wall time it prints the CPU seconds of the runners, the simulator and
the PostgreSQL server: on a machine where all three share the cores, two runners
can at best reach 2 r / (r + x) times one runner's throughput (r: one runner's
CPU, x: the simulator's and the server's), whatever the runners do.

    .venv/bin/python bench/apply_runners_pg.py [--videos 10000] [--runners 1 2] [--repeat 1]
    .venv/bin/python bench/apply_runners_pg.py --latency 0.05   # a 50 ms round trip

On loopback (the default) a runner is bound by its own CPU, and two runners by the
two cores they share with the simulator and the server. With ``--latency`` each
request waits as it would over a network (a provider's round trip), so a runner is
bound by its ``--parallel 8`` requests in flight, as against a real provider, and
the runners' CPU is not the limit on this machine.
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from apply_common import env_for, jogg_project, sim_cpu, simulator
from apply_overhead import SCALE, SIM
from pgkit import running_server


def postgres_cpu() -> dict[int, float]:
    """CPU seconds of each process the postgres user runs now (the server's)."""
    found = subprocess.run(["pgrep", "-u", "postgres"], capture_output=True, text=True)
    tick = os.sysconf("SC_CLK_TCK")
    seconds = {}
    for pid in found.stdout.split():
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        seconds[int(pid)] = (int(fields[11]) + int(fields[12])) / tick
    return seconds


def run(count: int, runners: int, base: str, url: str) -> tuple[float, float, float, float]:
    """Wall seconds, and CPU seconds of the runners, the simulator and the server."""
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "repo"
        jogg_project(root, count)
        (root / "reelform.toml").write_text('[state]\nbackend = "postgres"\n')
        clones = [root]
        for i in range(1, runners):
            clones.append(Path(tmp) / f"clone{i}")
            shutil.copytree(root, clones[-1])
        env = {**env_for(base, SCALE), "REELFORM_STATE_URL": url}
        server_before = postgres_cpu()
        sim_before = sim_cpu()
        times_before = os.times()
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
        server_seen = dict(server_before)
        ended: dict[int, float] = {}
        while len(ended) < len(processes):
            server_seen.update(postgres_cpu())  # backends end with their runners
            time.sleep(0.2)
            for index, process in enumerate(processes):
                if index not in ended and process.poll() is not None:
                    ended[index] = time.perf_counter() - started
        elapsed = time.perf_counter() - started
        if runners > 1:  # an even split ends together; a gap is one runner alone
            print("  runners ended at " + ", ".join(f"{ended[i]:.1f} s" for i in sorted(ended)))
        for process in processes:
            _, err = process.communicate()
            if process.returncode:
                raise SystemExit(err[-3000:])
        times_after = os.times()
        runner_cpu = (times_after.children_user - times_before.children_user) + (
            times_after.children_system - times_before.children_system
        )
        server_cpu = sum(server_seen.values()) - sum(server_before.values())
        return elapsed, runner_cpu, sim_cpu() - sim_before, server_cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=10_000)
    parser.add_argument("--runners", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeat", type=int, default=1, help="alternate rounds; best kept")
    parser.add_argument(
        "--latency",
        type=float,
        default=0.0,
        help="seconds each request waits at the simulator before it is answered, as over "
        "a network (slow_rate 1); 0: loopback, every runner bound by its own CPU",
    )
    args = parser.parse_args()
    sim_config = {**SIM, "slow_rate": 1.0, "slow_seconds": args.latency} if args.latency else SIM
    rates: dict[int, float] = {}
    cpu: dict[int, tuple[float, float, float]] = {}
    with running_server(fsync=True) as server, simulator(**sim_config) as base:
        for round_ in range(args.repeat):
            for runners in args.runners:
                url = server.create_database(f"runners_{runners}_{round_}")
                elapsed, runner_cpu, sim, pg = run(args.videos, runners, base, url)
                rate = args.videos / elapsed
                if rate > rates.get(runners, 0.0):
                    rates[runners], cpu[runners] = rate, (runner_cpu, sim, pg)
                print(
                    f"{runners} runner(s), {args.videos:,} videos: {elapsed:6.1f} s wall, "
                    f"{rate:6.1f} videos/s; CPU s: runners {runner_cpu:5.1f}, "
                    f"simulator {sim:5.1f}, server {pg:5.1f}"
                )
    if 1 in cpu and not args.latency:  # (with latency one runner is not bound by its CPU)
        r, sim, pg = cpu[1]
        print(f"bound on a machine the three share: 2r/(r+x) = {2 * r / (r + sim + pg):.2f}")
    if 1 in rates and 2 in rates:
        print(f"2 runners / 1 runner throughput = {rates[2] / rates[1]:.2f} (target >= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
