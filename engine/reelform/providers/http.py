"""HTTP plumbing shared by the JoggAI and Mirako clients: retries, backoff, error classes.

Two kinds of request (docs/design.md, "Never pay twice"):

- Reads, uploads and downloads are harmless to repeat: ``Requester`` retries them on
  429, 5xx and network errors, whether or not the request got out.
- A *paid* request (a video create, add_motion, Mirako's speech) is sent exactly once
  per call. Its failure is judged by ``submits.judge_answer`` / ``judge_error``:
  ``RetryableError`` only when the answer proves the provider did not take it,
  ``RejectedError`` for the provider's own refusal, ``OutcomeUnknownError`` for
  everything else. The caller (the executor) repeats a not-taken submit itself, after
  withdrawing the submit's intent, so a crash during the wait leaves nothing unknown.

Waits are exponential with full jitter (1 s doubling up to 30 s, as Mirako's official
SDK), or the server's ``Retry-After`` when it gives one, all multiplied by the
context's ``time_scale`` so tests run fast. Decision functions are pure and kept
apart from sending, so they are unit-tested without any I/O.
"""

from __future__ import annotations

import email.utils
import logging
import random
import time
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar, overload

import anyio
import httpx

from reelform.errors import (
    ConfigError,
    OutcomeUnknownError,
    ProviderError,
    RejectedError,
    RetryableError,
)
from reelform.providers.ratelimit import TokenBucket
from reelform.providers.submits import NOT_SENT, Verdict, judge_error
from reelform.secrets import checked_key, redact

T = TypeVar("T")
Body = bytes | AsyncIterable[bytes]

#: Errors raised before a single byte of the request was sent.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = NOT_SENT

#: Longest ``Retry-After`` honoured, in provider seconds; beyond that the engine decides.
MAX_RETRY_AFTER = 120.0


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    #: 429s count apart: "slow down" is no failure, and in a large batch one request
    #: can meet several (a burst, another client on the same key) while the shared
    #: token bucket slows everyone down. Giving up on a paid create then would only
    #: move it to the next run.
    throttled_attempts: int = 10
    base: float = 1.0
    cap: float = 30.0


def backoff_delay(attempt: int, policy: RetryPolicy, rng: random.Random | None = None) -> float:
    """Full-jitter delay before retry number ``attempt`` (0-based), in provider seconds."""
    ceiling = min(policy.cap, policy.base * (2**attempt))
    return (rng or random).uniform(0.0, ceiling)


@dataclass(frozen=True)
class Tries:
    """How often one logical request has failed so far, counted per budget."""

    failures: int = 0
    throttled: int = 0

    def after(self, error: RetryableError) -> Tries:
        if error.throttled:
            return Tries(self.failures, self.throttled + 1)
        return Tries(self.failures + 1, self.throttled)

    @property
    def total(self) -> int:
        return self.failures + self.throttled


def retry_delay(
    tries: Tries, error: RetryableError, policy: RetryPolicy, rng: random.Random | None = None
) -> float | None:
    """Provider seconds to wait before trying again after ``error`` (``tries`` already
    counts it), or None when its budget is spent: the server's ``Retry-After`` where it
    gave one, else full-jitter backoff."""
    count, budget = (
        (tries.throttled, policy.throttled_attempts)
        if error.throttled
        else (tries.failures, policy.attempts)
    )
    if count >= budget:
        return None
    if error.retry_after is not None:
        return error.retry_after
    return backoff_delay(count - 1, policy, rng)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            moment = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return None
        seconds = moment.timestamp() - (time.time() if now is None else now)
    if seconds != seconds:  # NaN
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


def join_url(base: str, path: str) -> str:
    """``base`` may carry a path prefix (the simulator serves JoggAI under ``/jogg``)."""
    return base.rstrip("/") + "/" + path.lstrip("/")


def base_url(env: Mapping[str, str], variable: str, default: str) -> str:
    url = (env.get(variable) or default).strip()
    if not url.startswith(("http://", "https://")):
        raise ConfigError(f"{variable} must be an http(s) URL, got {url!r}")
    return url.rstrip("/")


@overload
def api_key(env: Mapping[str, str], variable: str) -> str: ...
@overload
def api_key(env: Mapping[str, str], variable: str, *, required: Literal[False]) -> str | None: ...
def api_key(env: Mapping[str, str], variable: str, *, required: bool = True) -> str | None:
    """The key in ``variable`` (surrounding whitespace stripped), checked: a ConfigError
    names the variable and what is wrong with it (never the key itself).

    Required at the first request; read lazily, since a provider is also built to
    verify webhooks or to read its limits, with no key. Providers call it with
    ``required=False`` when built, so that a malformed key stops a run before
    anything is done, instead of failing inside httpx as an encoding error."""
    key = checked_key(env, variable)
    if key is None and required:
        raise ConfigError(f"{variable} is not set: export it or put it in a .env file")
    return key


ReadVerdict = Literal["refused", "not_sent", "lost"]
DESCRIPTIONS: dict[str, str] = {
    "refused": "unusable URL or endless redirects",
    "not_sent": "could not connect",
    "lost": "connection lost after the request was sent",
}


def classify_read_error(exc: Exception) -> ReadVerdict:
    """What an httpx error means for a request that is harmless to repeat.

    ``refused``: retrying cannot help (a URL we cannot use, a redirect loop);
    ``not_sent``: nothing left the machine; ``lost``: sent, the answer lost. Both of
    the last are simply tried again. Paid requests are judged by ``judge_error``.
    """
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.TooManyRedirects):
        return "refused"
    if isinstance(exc, NOT_SENT_ERRORS):
        return "not_sent"
    return "lost"


def paid_error(provider: str, what: str, exc: Exception) -> ProviderError:
    """The error a paid request's transport failure means (``submits.judge_error``)."""
    verdict = judge_error(exc)
    name = type(exc).__name__
    if verdict is Verdict.NOT_TAKEN:
        return RetryableError(provider, f"{what}: could not connect ({name})")
    if verdict is Verdict.REJECTED:
        return RejectedError(provider, f"{what}: unusable URL ({name})")
    return OutcomeUnknownError(
        provider,
        f"{what}: no answer after the request was sent ({name}); "
        "it may or may not have been accepted",
    )


class Scrubber:
    """Removes known secrets from any text that may leave the process.

    The first defence is never putting a key into a message; this catches a server
    that echoes one back (some do, in "invalid key ..." messages).
    """

    def __init__(self, env: Mapping[str, str], extra: Iterable[str | None] = ()) -> None:
        self._env = env
        self._extra = sorted({s for s in extra if s}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._extra:
            text = text.replace(secret, "***")
        return redact(text, self._env)


def response_excerpt(response: httpx.Response, limit: int = 200) -> str:
    text = response.text.strip().replace("\n", " ")
    return text[:limit] + ("..." if len(text) > limit else "")


Parse = Callable[[httpx.Response], T]


class Requester:
    """Sends one logical request with the retry policy above.

    ``parse`` turns a response into a value or raises a ``ProviderError``; only a
    ``RetryableError`` from it leads to another attempt.
    """

    def __init__(
        self,
        client: httpx.AsyncClient,
        provider: str,
        *,
        scrub: Scrubber,
        time_scale: float = 1.0,
        policy: RetryPolicy | None = None,
        limiter: TokenBucket | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.client = client
        self.provider = provider
        self.scrub = scrub
        self.time_scale = time_scale
        self.policy = policy or RetryPolicy()
        self.limiter = limiter
        self._sleep = sleep or anyio.sleep
        self._rng = rng or random.Random()
        self.log = logging.getLogger(f"reelform.providers.{provider}")

    def over(self, client: httpx.AsyncClient | None) -> Requester:
        """This requester's policy, limiter and scrubbing over another client (the
        status reads' own pool); itself when ``client`` is None."""
        if client is None:
            return self
        return Requester(
            client,
            self.provider,
            scrub=self.scrub,
            time_scale=self.time_scale,
            policy=self.policy,
            limiter=self.limiter,
            sleep=self._sleep,
            rng=self._rng,
        )

    async def request(
        self,
        method: str,
        url: str,
        parse: Parse[T],
        *,
        paid: bool = False,
        rate_limited: bool = False,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        body: Callable[[], Body] | None = None,
        label: str | None = None,
    ) -> T:
        """Send one logical request; retried unless ``paid`` (module docstring).

        ``body`` is a factory so that a streamed upload can be restarted on retry.
        ``label`` names the request in messages instead of the URL (a signed URL
        carries a credential in its query string).
        """
        what = label or f"{method} {httpx.URL(url).path}"
        tries = Tries()
        while True:
            if rate_limited and self.limiter is not None:
                await self.limiter.acquire()
            last = await self._attempt(method, url, parse, what, paid, headers, params, json, body)
            if not isinstance(last, RetryableError):
                return last
            if last.retry_after is not None and self.limiter is not None:
                self.limiter.penalize(last.retry_after)
            if paid:  # the caller decides about sending a paid request again
                raise last
            tries = tries.after(last)
            delay = retry_delay(tries, last, self.policy, self._rng)
            if delay is None:
                break
            kind = "rate limited" if last.throttled else "attempt"
            budget = self.policy.throttled_attempts if last.throttled else self.policy.attempts
            count = tries.throttled if last.throttled else tries.failures
            self.log.info(
                "%s", self.scrub(f"{last}; {kind} {count}/{budget}, retrying in {delay:.1f}s")
            )
            await self._sleep(delay * self.time_scale)
        raise RetryableError(
            self.provider,
            self.scrub(
                f"{_strip_provider(last, self.provider)} (gave up after {tries.total} attempts)"
            ),
            code=last.code,
            retry_after=last.retry_after,
            throttled=last.throttled,
        )

    async def _attempt(
        self,
        method: str,
        url: str,
        parse: Parse[T],
        what: str,
        paid: bool,
        headers: Mapping[str, str] | None,
        params: Mapping[str, Any] | None,
        json: Any,
        body: Callable[[], Body] | None,
    ) -> T | RetryableError:
        """One send: the parsed value, or the ``RetryableError`` that allows another."""
        try:
            response = await self.client.request(
                method,
                url,
                headers=headers,
                params=params,
                json=json,
                content=body() if body is not None else None,
            )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            if paid:
                error = paid_error(self.provider, what, exc)
                if isinstance(error, RetryableError):
                    return error
                raise error from exc
            verdict = classify_read_error(exc)
            message = f"{what}: {DESCRIPTIONS[verdict]} ({type(exc).__name__})"
            if verdict == "refused":
                raise RejectedError(self.provider, message) from exc
            return RetryableError(self.provider, message)
        try:
            return parse(response)
        except RetryableError as exc:
            return exc


def _strip_provider(exc: ProviderError, provider: str) -> str:
    text = str(exc)
    prefix = f"{provider}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


async def file_chunks(path: str, chunk_size: int = 1 << 16) -> AsyncIterable[bytes]:
    """Stream a file for an upload without reading it into memory at once."""
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(chunk_size):
            yield chunk
