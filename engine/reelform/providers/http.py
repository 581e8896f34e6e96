"""HTTP plumbing shared by the JoggAI and Mirako clients: retries, backoff, error classes.

Decisions (DESIGN.md section 6):

- A request whose connection never got out (``ConnectError``, ``ConnectTimeout``,
  ``PoolTimeout``) is always safe to repeat.
- An HTTP answer that says "not now" (429, 5xx, an error envelope the provider marks
  as temporary) means the provider did not take the request, so even a request that
  creates something (a paid render) is repeated.
- A connection that breaks or times out *after* the request went out may have created
  the job: for a ``create`` call this raises ``OutcomeUnknownError`` and is never
  repeated; reads (GET, the idempotent PUT of an upload) are simply tried again.

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
from reelform.secrets import checked_key, redact

T = TypeVar("T")
Body = bytes | AsyncIterable[bytes]

#: Errors raised before a single byte of the request was sent.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
)

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


Verdict = Literal["refused", "not_sent", "lost", "unknown"]
DESCRIPTIONS: dict[Verdict, str] = {
    "refused": "unusable URL or endless redirects",
    "not_sent": "could not connect",
    "lost": "connection lost after the request was sent",
    "unknown": "connection lost after the request was sent",
}


def classify_error(exc: Exception, *, create: bool) -> Verdict:
    """What an httpx error means for the request (the module docstring's rules).

    ``refused``: retrying cannot help (a URL we cannot use, a redirect loop);
    ``not_sent``: nothing left the machine, repeat freely; ``lost``: sent, answer lost,
    and repeating is harmless; ``unknown``: the same for a request that creates
    something, which is never repeated.
    """
    if isinstance(exc, httpx.UnsupportedProtocol | httpx.InvalidURL | httpx.TooManyRedirects):
        return "refused"
    if isinstance(exc, NOT_SENT_ERRORS):
        return "not_sent"
    # Everything else (read/write errors and timeouts, protocol errors, an answer that
    # cannot be decoded) happened after at least part of the request went out.
    return "unknown" if create else "lost"


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
        create: bool = False,
        rate_limited: bool = False,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        body: Callable[[], Body] | None = None,
        label: str | None = None,
    ) -> T:
        """``body`` is a factory so that a streamed upload can be restarted on retry.

        ``label`` names the request in messages instead of the URL (a signed URL
        carries a credential in its query string).
        """
        what = label or f"{method} {httpx.URL(url).path}"
        policy = self.policy
        failures = throttled = 0
        while True:
            if rate_limited and self.limiter is not None:
                await self.limiter.acquire()
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
                verdict = classify_error(exc, create=create)
                message = f"{what}: {DESCRIPTIONS[verdict]} ({type(exc).__name__})"
                if verdict == "refused":
                    raise RejectedError(self.provider, message) from exc
                if verdict == "unknown":
                    raise OutcomeUnknownError(
                        self.provider, message + "; it may or may not have been accepted"
                    ) from exc
                last = RetryableError(self.provider, message)
            else:
                try:
                    return parse(response)
                except RetryableError as exc:
                    last = exc
                    if exc.retry_after is not None and self.limiter is not None:
                        self.limiter.penalize(exc.retry_after)
            if last.throttled:
                throttled += 1
                tries, budget = throttled, policy.throttled_attempts
            else:
                failures += 1
                tries, budget = failures, policy.attempts
            if tries >= budget:
                break
            delay = last.retry_after
            if delay is None:
                delay = backoff_delay(tries - 1, policy, self._rng)
            kind = "rate limited" if last.throttled else "attempt"
            self.log.info(
                "%s", self.scrub(f"{last}; {kind} {tries}/{budget}, retrying in {delay:.1f}s")
            )
            await self._sleep(delay * self.time_scale)
        raise RetryableError(
            self.provider,
            self.scrub(
                f"{_strip_provider(last, self.provider)} "
                f"(gave up after {failures + throttled} attempts)"
            ),
            code=last.code,
            retry_after=last.retry_after,
            throttled=last.throttled,
        )


def _strip_provider(exc: ProviderError, provider: str) -> str:
    text = str(exc)
    prefix = f"{provider}: "
    return text[len(prefix) :] if text.startswith(prefix) else text


async def file_chunks(path: str, chunk_size: int = 1 << 16) -> AsyncIterable[bytes]:
    """Stream a file for an upload without reading it into memory at once."""
    async with await anyio.open_file(path, "rb") as handle:
        while chunk := await handle.read(chunk_size):
            yield chunk
