"""The submit intent is recorded once the request may leave, not while it queues.

``TokenBucket.ahead`` lets the executor take the rate-limit token before it makes
the intent durable; the provider's own ``acquire`` inside the block is then free.
"""

from __future__ import annotations

import anyio
import pytest
from applykit import Project, SimServer

from reelform.providers.ratelimit import TokenBucket

#: On both state backends: lockfiles, and rows in PostgreSQL.
pytestmark = pytest.mark.usefixtures("state_backend")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.mark.anyio
async def test_ahead_pays_the_next_acquire_once() -> None:
    clock = FakeClock()
    bucket = TokenBucket(2, clock=clock, sleep=clock.sleep, margin=0.0)
    async with bucket.ahead():
        assert bucket.acquired == 1
        await bucket.acquire()  # the provider's acquire: already paid
        assert bucket.acquired == 1 and clock.now == 0.0
        await bucket.acquire()  # a retry inside the block pays again
        assert bucket.acquired == 2
    await bucket.acquire()  # the window (2 per 60 s) is full now
    assert bucket.acquired == 3 and clock.now == pytest.approx(60.0)


@pytest.mark.anyio
async def test_an_unused_prepaid_token_does_not_leak_out_of_the_block() -> None:
    clock = FakeClock()
    bucket = TokenBucket(60, clock=clock, sleep=clock.sleep, margin=0.0)
    async with bucket.ahead():
        pass  # the request was never made (e.g. refused before sending)
    await bucket.acquire()
    assert bucket.acquired == 2


@pytest.mark.anyio
async def test_prepaid_tokens_belong_to_their_task() -> None:
    clock = FakeClock()
    bucket = TokenBucket(600, clock=clock, sleep=clock.sleep, margin=0.0)
    inside = anyio.Event()
    done = anyio.Event()

    async def other_task() -> None:
        await inside.wait()
        await bucket.acquire()  # not covered by the first task's prepaid token
        done.set()

    async with anyio.create_task_group() as group:
        group.start_soon(other_task)
        async with bucket.ahead():
            inside.set()
            await done.wait()
            assert bucket.acquired == 2
            await bucket.acquire()
            assert bucket.acquired == 2


def test_a_kill_during_mirako_speech_synthesis_leaves_no_unknown(
    sim: SimServer, project: Project
) -> None:
    """Speech is made before the submit's intent: killed while it is being made, the
    video was never sent and the next plan creates it (no `unknown`, no resume)."""
    import signal
    import time

    from applykit import run_cli, start_cli

    project.mirako_speech_spec()
    sim.config.slow_rate = 1.0
    sim.config.slow_seconds = 3.0
    sim.config.fault_methods = {"POST"}
    env = sim.env()
    process = start_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    deadline = time.monotonic() + 30
    while not any(r.path == "/mirako/v1/speech/tts" for r in sim.requests()):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.01)
    time.sleep(0.3)
    process.send_signal(signal.SIGKILL)
    process.wait()
    plan = run_cli(["plan", "spec.yaml"], env, project.root)
    assert "+ create    spoken" in plan.out, plan.out
    sim.config.slow_rate = 0.0
    done = run_cli(["apply", "--yes", "spec.yaml"], env, project.root)
    assert done.code == 0, done.text
    assert len(sim.creates()) == 1
