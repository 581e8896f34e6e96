"""Shared by the apply benchmarks: a simulator in its own process, spec projects, runs.

The simulator runs in a separate process so that its work is not counted as
apply's (both still share this machine's cores). Its request log is read through
``GET /_sim/requests``.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from reelform.sim import DEFAULT_WEBHOOK_SECRET

JOGG_KEY = "jk_bench_key_123456"
last_cpu = [0.0]
sim_pid = [0]


def sim_cpu() -> float:
    """CPU seconds the simulator process has used so far (Linux)."""
    fields = Path(f"/proc/{sim_pid[0]}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


VOICE = "en-US-ChristopherNeural"

SERVE = """
import json, sys, time
from reelform.sim import SimConfig, serve_in_thread
config = SimConfig(**json.loads(sys.argv[1]))
with serve_in_thread(config) as base:
    print(base, flush=True)
    sys.stdin.read()  # until the parent closes our stdin
"""


@contextlib.contextmanager
def simulator(**config: Any) -> Iterator[str]:
    """Serve the simulators in a child process; yields the base URL."""
    import json

    process = subprocess.Popen(
        [sys.executable, "-c", SERVE, json.dumps(config)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        base = process.stdout.readline().strip()
        if not base.startswith("http"):
            raise RuntimeError("the simulator did not start")
        sim_pid[0] = process.pid
        yield base
    finally:
        if process.stdin:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def sim_requests(base: str, **filters: str) -> list[dict[str, Any]]:
    with httpx.Client(timeout=120) as client:
        answer: list[dict[str, Any]] = client.get(f"{base}/_sim/requests", params=filters).json()
        return answer


def jogg_project(folder: Path, count: int, extra_spec: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    rows = "id,text\n" + "".join(f"{i},Hello number {i}\n" for i in range(1, count + 1))
    (folder / "rows.csv").write_text(rows)
    spec = folder / "spec.yaml"
    spec.write_text(f"""\
version: 1
provider: jogg
output: out
data: {{rows: rows.csv}}
defaults:
  avatar: {{id: 81}}
  voice: {{voice_id: {VOICE}}}
videos:
  - name: "v{{{{ row.id }}}}"
    for_each: rows
    voice: {{script: "{{{{ row.text }}}}"}}
{extra_spec}""")
    return spec


def env_for(base: str, time_scale: float) -> dict[str, str]:
    return {
        **os.environ,
        "JOGG_BASE_URL": f"{base}/jogg",
        "MIRAKO_BASE_URL": f"{base}/mirako",
        "JOGG_API_KEY": JOGG_KEY,
        "MIRAKO_API_KEY": "mk_bench_key_123456",
        "JOGG_WEBHOOK_SECRET": DEFAULT_WEBHOOK_SECRET,
        "REELFORM_TIME_SCALE": repr(time_scale),
    }


def run_apply(spec: Path, env: dict[str, str], *args: str) -> tuple[float, int, str]:
    """`reelform apply --yes --json ARGS SPEC` as a process: (wall seconds, exit code, stdout).

    The CPU seconds apply used are left in ``last_cpu[0]``."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "reelform", "apply", "--yes", "--json", *args, spec.name],
        cwd=spec.parent,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    last_cpu[0] = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    if done.returncode != 0:
        sys.stderr.write(done.stderr[-3000:])
    return elapsed, done.returncode, done.stdout
