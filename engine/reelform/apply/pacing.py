"""What every part of a run shares: the slots, the rate-limit token, the --timeout,
the one paid-submit loop and the one polling loop (docs/design.md, "Never pay twice").

``Pacing`` is the base of the executor's layers: ``Prerequisites`` (uploads and photo
avatars) builds on it, and the video layers (``outcomes``, ``submit``, ``outputs``,
``moves``, ``following``) and ``Executor`` on that (``apply/executor.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import TypeVar

import httpx

from reelform.apply.decide import credit_account, keep_polling, may_submit
from reelform.apply.download import DownloadFiles
from reelform.apply.model import (
    ApplyOptions,
    NoCredit,
    NotTaken,
    OutOfTime,
    ProviderFor,
    SpecRun,
    StoppedWaiting,
)
from reelform.apply.progress import Reporter
from reelform.errors import InsufficientCreditError, ProviderError, RetryableError
from reelform.providers.base import Provider
from reelform.providers.http import Tries, retry_delay
from reelform.providers.ratelimit import TokenBucket
from reelform.registry import provider_traits
from reelform.secrets import redact

T = TypeVar("T")
log = logging.getLogger("reelform.apply")


class Pacing:
    """The resources and loops of one run (see the module docstring)."""

    def __init__(
        self,
        runs: list[SpecRun],
        options: ApplyOptions,
        provider_for: ProviderFor,
        reporter: Reporter,
        http: httpx.AsyncClient,
        *,
        limiter_for: Callable[[str], TokenBucket | None] | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.runs = runs
        self.options = options
        self.provider_for = provider_for
        self.reporter = reporter
        self.http = http
        self.limiter_for = limiter_for or (lambda _name: None)
        self.env = os.environ if env is None else env
        self.slots = asyncio.Semaphore(max(1, options.parallel))
        # Downloads have their own slots: they go to a file host, not to the provider's
        # API, and must not wait behind submits that hold a slot while the rate limit
        # makes them wait (a finished video would be fetched long after it was seen).
        self.downloads = asyncio.Semaphore(max(1, options.parallel))
        # Status requests in flight. Unbounded, thousands of due polls would queue
        # inside the HTTP connection pool, whose bookkeeping is linear in its queue.
        self.polls = asyncio.Semaphore(max(1, options.parallel))
        self.files = DownloadFiles()
        self.deadline: float | None = None  # loop time; set when the run starts
        #: Accounts that answered "insufficient credit" this run, with that answer:
        #: nothing more is sent on them (``decide.may_submit``).
        self.exhausted: dict[str, str] = {}
        self._uploads: dict[tuple[str, str], asyncio.Task[str]] = {}
        self._avatars: dict[tuple[int, str], asyncio.Task[int]] = {}

    def _scrub(self, text: str) -> str:
        """The last line of defence before a text reaches the lockfile or the screen."""
        return redact(text, self.env)

    def _resubmits(self, provider: str) -> bool:
        return self.options.resubmit_unknown or provider_traits(provider).free

    def _check_credit(self, provider: str) -> None:
        """Before anything is prepared or sent: not on an account out of credit."""
        if not may_submit(provider, self.exhausted):
            answer = self.exhausted[credit_account(provider)]
            raise NoCredit(provider, provider_traits(provider).label, answer, first=False)

    def _out_of_credit(self, provider: str, exc: InsufficientCreditError) -> NoCredit:
        """Stop every paid request on the account at once, from this answer on."""
        # The provider's own words, without the "jogg: " prefix of every ProviderError.
        answer = self._scrub(str(exc).removeprefix(f"{exc.provider}: "))
        account = credit_account(provider)
        if account not in self.exhausted:
            self.exhausted[account] = answer
            log.warning("%s", f"{provider}: insufficient credit; no more submits this run")
        return NoCredit(provider, provider_traits(provider).label, answer, first=True)

    def _check_time(self) -> None:
        if self.deadline is not None and asyncio.get_running_loop().time() >= self.deadline:
            raise OutOfTime

    @contextlib.asynccontextmanager
    async def _token(self, provider: Provider) -> AsyncIterator[None]:
        """The provider's rate-limit token for the next request of this task, taken now:
        the intent is recorded after the wait for it, just before the request leaves."""
        limiter = self.limiter_for(provider.name)
        async with limiter.ahead() if limiter else contextlib.nullcontext():
            yield

    async def _paid(
        self,
        provider: Provider,
        send: Callable[[], Awaitable[T]],
        *,
        intent: Callable[[], Awaitable[None]],
        withdraw: Callable[[], Awaitable[None]],
        prepare: Callable[[], Awaitable[None]] | None = None,
    ) -> T:
        """Rules 1 and 2 for one paid request: in a slot, ``prepare`` (reads, speech),
        then the rate-limit token, then the durable ``intent``, then ``send``, once.

        A "not taken" answer withdraws the intent and waits (holding the slot: the
        provider asked everyone to slow down) before trying again, within the retry
        budget; then ``NotTaken``. "Insufficient credit" withdraws the intent and
        stops every paid request on that account, this one and all that come after
        (``NoCredit``). Rejections and unknown outcomes are raised as they are, the
        intent still on record for the caller to settle.
        """
        tries = Tries()
        async with self.slots:
            while True:
                try:
                    self._check_credit(provider.name)  # the slot can take long to come
                    if prepare is not None:
                        await prepare()  # Mirako's speech is paid too: 402 there stops all
                        prepare = None  # prepared once, kept across tries
                    async with self._token(provider):
                        self._check_time()  # the slot and the token can take long to come
                        self._check_credit(provider.name)
                        await intent()
                        try:
                            return await send()
                        except (RetryableError, InsufficientCreditError):
                            await withdraw()  # nothing was made: durably not sent
                            raise
                except InsufficientCreditError as exc:
                    raise self._out_of_credit(provider.name, exc) from None
                except RetryableError as exc:
                    tries = tries.after(exc)
                    delay = retry_delay(tries, exc, self.options.retry)
                    if delay is None:
                        raise NotTaken(tries, exc) from None
                    await self._sleep(delay * self.options.poll.time_scale)

    async def _until_deadline(self, waiting: Awaitable[T]) -> T:
        """``waiting``'s result, unless the --timeout comes first (OutOfTime)."""
        if self.deadline is None:
            return await waiting
        left = self.deadline - asyncio.get_running_loop().time()
        try:
            return await asyncio.wait_for(waiting, max(0.0, left))
        except TimeoutError:
            raise OutOfTime from None

    async def _sleep(self, seconds: float) -> None:
        """Wait, unless the --timeout comes first."""
        if self.deadline is not None:
            left = self.deadline - asyncio.get_running_loop().time()
            if left < seconds:
                await asyncio.sleep(max(0.0, left))
                raise OutOfTime
        await asyncio.sleep(seconds)

    async def _poll(
        self,
        provider: str,
        read: Callable[[], Awaitable[T]],
        finished: Callable[[T], bool],
        *,
        first: float,
        webhook: Callable[[float], Awaitable[T | None]] | None = None,
        pushes: Callable[[], bool] | None = None,
        resumed: bool = False,
        rendering: bool = True,
    ) -> T:
        """The one polling loop, for videos and photo avatars alike (rule 3).

        A failed read is logged and counted, and changes nothing on record;
        ``StoppedWaiting`` (reported in the summary) past the tolerance.
        A job found again after a restart (``resumed``) is read at once and, under a
        --timeout that has passed, once more before this apply lets it go.
        Polls keep the slow safety pace while ``pushes()`` says deliveries are expected
        (a runner reading them from the database, that cannot read it, polls as usual)."""
        loop = asyncio.get_running_loop()
        policy = self.options.poll
        started = loop.time()
        delay = first
        errors = 0
        while True:
            if self.deadline is not None:  # one last look at the deadline, then stop
                left = self.deadline - loop.time()
                if left <= 0 and not resumed:
                    raise OutOfTime(rendering=rendering)
                delay = max(0.0, min(delay, left))
            if webhook is not None and not resumed:
                pushed = await webhook(delay)
                if pushed is not None:
                    return pushed
            elif delay:
                await asyncio.sleep(delay)
            resumed = False
            try:
                state = await read()
            except ProviderError as exc:
                errors += 1
                log.info("%s", self._scrub(f"status read failed ({errors} in a row): {exc}"))
                if not keep_polling(errors, policy.error_tolerance):
                    raise StoppedWaiting(errors, exc) from None
            else:
                errors = 0
                if finished(state):
                    return state
            pushed_here = webhook is not None and (pushes is None or pushes())
            delay = policy.next_delay(provider, loop.time() - started, pushed_here)
