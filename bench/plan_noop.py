"""Benchmark: a no-op `reelform plan` over N rows, and lockfile load/save.

Builds a project with a CSV of N rows and one templated video per row, a
complete lockfile (every video completed) and every output file present, then
times `reelform plan --detailed-exitcode` as a subprocess (wall time, CPU time,
peak memory) at each N: cold (no expansion memo: each run first removes
`.reelform/cache/`, so the spec is expanded, and the memo written) and warm (the
memo the cold runs left: nothing is expanded). Targets (issue 2): N = 100,000 in
at most 3 s and under 1 GiB (cold); time(100k) / time(10k) at most 11; lockfile
load and save under 1 s.

    .venv/bin/python bench/plan_noop.py [--sizes 10000 100000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SPEC = """\
# yaml-language-server: $schema=../schemas/reelform.schema.json
version: 1
name: bench
output: out
vars: {company: Acme}
data:
  people: people.csv
defaults:
  avatar: {id: 1}
  voice: {voice_id: en}
  aspect: portrait
  captions: true
videos:
  - name: "hello-{{ row.id }}"
    for_each: people
    when: "{{ row.active == 'yes' }}"
    title: "Hello {{ row.first_name }}"
    voice:
      script: "{% include 'hello.txt.j2' %}"
"""
TEMPLATE = "Hi {{ row.first_name }}, welcome to {{ vars.company }}. Your plan: {{ row.plan }}."
# With control flow every row goes through Jinja itself (no pure-interpolation path).
JINJA_TEMPLATE = (
    "Hi {{ row.first_name }}, welcome to {{ vars.company }}."
    "{% if row.plan == 'pro' %} Your pro plan is ready.{% endif %}"
)


def build(folder: Path, rows: int, template: str = TEMPLATE) -> Path:
    from reelform.project import prepare
    from reelform.state.lockfile import LockState, write_lock
    from reelform.state.records import Status, VideoOutput, VideoRecord

    (folder / "templates").mkdir(parents=True)
    (folder / "templates" / "hello.txt.j2").write_text(template)
    with (folder / "people.csv").open("w") as handle:
        handle.write("id,first_name,plan,active\n")
        for i in range(rows):
            handle.write(f"{i},Person{i},{'pro' if i % 3 else 'team'},yes\n")
    spec = folder / "bench.yaml"
    spec.write_text(SPEC)
    prepared = prepare(spec)
    out = folder / "out"
    out.mkdir()
    lock = LockState()
    for request in prepared.requests:
        path = out / f"{request.name}.mp4"
        path.write_bytes(b"x")
        stat = path.stat()
        lock.videos[request.name] = VideoRecord(
            fingerprint=request.fingerprint,
            key=request.key,
            inputs=request.inputs,
            provider=request.provider,
            job_id=request.key,
            status=Status.COMPLETED,
            submitted_at="2026-01-01T00:00:00Z",
            completed_at="2026-01-01T00:01:00Z",
            output=VideoOutput(
                path=f"out/{request.name}.mp4",
                sha256="0" * 64,
                bytes=1,
                mtime_ns=stat.st_mtime_ns,
                duration=3.0,
                url=f"file:///renders/{request.key}.mp4",
            ),
        )
    write_lock(prepared.spec.lock_path, lock)
    return spec


def memo_folder(spec: Path) -> Path:
    """Where the expansion memos of the bench project live (no .git, no reelform.toml
    above a temporary folder: the repository root is the spec's own folder)."""
    return spec.parent / ".reelform" / "cache"


def time_plan(
    spec: Path, repeat: int, *, cold: bool, env: dict[str, str] | None = None
) -> tuple[float, float, float]:
    """Best wall time and best CPU time (user + system, the plan and its preload child)
    of `reelform plan`, and its peak RSS in MiB. ``cold``: without the expansion memo
    (removed before each run); else with the one the previous run left."""
    best = best_cpu = float("inf")
    peak = 0.0
    for _ in range(repeat):
        if cold:
            shutil.rmtree(memo_folder(spec), ignore_errors=True)
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
        peak = max(peak, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    if not cold and not any(memo_folder(spec).rglob("*.json")):
        raise SystemExit("the warm runs found no expansion memo: the cold runs wrote none")
    return best, best_cpu, peak


def time_lockfile(spec: Path) -> tuple[float, float]:
    from reelform.state.lockfile import read_lock, write_lock

    lock_path = spec.with_suffix(".lock")
    start = time.perf_counter()
    state = read_lock(lock_path)
    loaded = time.perf_counter() - start
    lock_path.unlink()
    start = time.perf_counter()
    write_lock(lock_path, state)
    saved = time.perf_counter() - start
    return loaded, saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--jinja", action="store_true", help="a template with {% if %}: every row rendered by Jinja"
    )
    args = parser.parse_args()
    results: dict[int, float] = {}
    with tempfile.TemporaryDirectory(prefix="reelform-bench-") as tmp:
        for size in args.sizes:
            folder = Path(tmp) / f"n{size}"
            spec = build(folder, size, JINJA_TEMPLATE if args.jinja else TEMPLATE)
            wall, cpu, peak = time_plan(spec, args.repeat, cold=True)
            warm_wall, warm_cpu, _ = time_plan(spec, args.repeat, cold=False)
            results[size] = wall
            load, save = time_lockfile(spec)
            lock_mb = os.path.getsize(spec.with_suffix(".lock")) / 1e6
            print(
                f"N={size:>7,}: no-op plan cold {wall:6.2f} s wall ({cpu:5.2f} s CPU), "
                f"warm {warm_wall:5.2f} s wall ({warm_cpu:5.2f} s CPU), peak {peak:6.0f} MiB; "
                f"lockfile {lock_mb:5.1f} MB load {load:.2f} s save {save:.2f} s"
            )
    if 10_000 in results and 100_000 in results:
        print(f"time(100k) / time(10k), cold = {results[100_000] / results[10_000]:.1f}")


if __name__ == "__main__":
    main()
