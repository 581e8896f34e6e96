"""The retry policy: what is repeated, what is an unknown outcome, how long to wait."""

from __future__ import annotations

import logging
import random

import httpx
import pytest
from provider_testkit import Script

from reelform.errors import OutcomeUnknownError, RejectedError, RetryableError
from reelform.providers.http import (
    Requester,
    RetryPolicy,
    Scrubber,
    Tries,
    backoff_delay,
    classify_read_error,
    join_url,
    parse_retry_after,
    retry_delay,
)
from reelform.providers.ratelimit import TokenBucket

pytestmark = pytest.mark.anyio
URL = "https://api.test/v2/thing"


def test_backoff_is_full_jitter_doubling_from_one_second_capped_at_thirty() -> None:
    rng = random.Random(1)
    policy = RetryPolicy()
    for attempt, ceiling in [(0, 1), (1, 2), (2, 4), (3, 8), (4, 16), (5, 30), (9, 30)]:
        delays = [backoff_delay(attempt, policy, rng) for _ in range(300)]
        assert min(delays) >= 0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.9  # the whole range is used, not a fixed wait


def test_retry_after_seconds_and_http_dates() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 2.5 ") == 2.5
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("-3") == 0.0
    assert parse_retry_after("100000") == 120.0  # capped: beyond that the engine decides
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_join_url_keeps_a_path_prefix() -> None:
    assert join_url("http://h:1/jogg", "/v2/x") == "http://h:1/jogg/v2/x"
    assert join_url("http://h:1/jogg/", "v2/x") == "http://h:1/jogg/v2/x"
    assert join_url("https://api.jogg.ai", "/v2/x") == "https://api.jogg.ai/v2/x"


def parse(response: httpx.Response) -> str:
    if response.status_code == 429 or response.status_code >= 500:
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        raise RetryableError(
            "t",
            f"HTTP {response.status_code}",
            code=response.status_code,
            retry_after=retry_after,
            throttled=response.status_code == 429,
        )
    if response.status_code >= 400:
        raise RejectedError("t", f"HTTP {response.status_code}")
    return response.text


def requester(script: Script, sleeps: list[float], **kwargs: object) -> Requester:
    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    client = httpx.AsyncClient(transport=httpx.MockTransport(script))
    return Requester(client, "t", scrub=Scrubber({}), sleep=sleep, rng=random.Random(0), **kwargs)  # type: ignore[arg-type]


async def test_get_retries_5xx_then_succeeds(script: Script) -> None:
    script.on("/v2/thing", httpx.Response(503), httpx.Response(500), httpx.Response(200, text="ok"))
    sleeps: list[float] = []
    assert await requester(script, sleeps).request("GET", URL, parse) == "ok"
    assert len(script.requests) == 3
    assert len(sleeps) == 2 and sleeps[0] <= 1 and sleeps[1] <= 2


async def test_gives_up_after_five_attempts_with_retryable(script: Script) -> None:
    script.on("/v2/thing", default=httpx.Response(502))
    sleeps: list[float] = []
    with pytest.raises(RetryableError, match=r"gave up after 5 attempts") as info:
        await requester(script, sleeps).request("GET", URL, parse)
    assert len(script.requests) == 5 and len(sleeps) == 4
    assert info.value.code == 502


async def test_retry_after_is_honoured_and_scaled(script: Script) -> None:
    script.on(
        "/v2/thing",
        httpx.Response(429, headers={"Retry-After": "3"}),
        httpx.Response(200, text="ok"),
    )
    sleeps: list[float] = []
    assert await requester(script, sleeps, time_scale=0.5).request("POST", URL, parse) == "ok"
    assert sleeps == [1.5]


async def test_final_error_carries_retry_after(script: Script) -> None:
    script.on("/v2/thing", default=httpx.Response(429, headers={"Retry-After": "9"}))
    with pytest.raises(RetryableError) as info:
        await requester(script, [], policy=RetryPolicy(throttled_attempts=2)).request(
            "GET", URL, parse
        )
    assert info.value.retry_after == 9.0 and info.value.code == 429 and info.value.throttled


async def test_429s_have_a_budget_of_their_own(script: Script) -> None:
    # Four failures and nine "slow down"s: neither budget (5 and 10) is spent, so a
    # request in a busy batch is not given up (and left to the next run).
    script.on(
        "/v2/thing",
        *[httpx.Response(502)] * 4,
        *[httpx.Response(429)] * 9,
        httpx.Response(200, text="ok"),
    )
    sleeps: list[float] = []
    assert await requester(script, sleeps).request("POST", URL, parse) == "ok"
    assert len(script.requests) == 14 and len(sleeps) == 13


def test_retry_delay_counts_each_budget_apart() -> None:
    policy = RetryPolicy(attempts=2, throttled_attempts=3)
    slow = RetryableError("t", "429", throttled=True, retry_after=4.0)
    down = RetryableError("t", "503", retry_after=None)
    tries = Tries().after(slow)
    assert retry_delay(tries, slow, policy) == 4.0  # the server's Retry-After
    tries = tries.after(down)
    assert 0 <= (retry_delay(tries, down, policy) or -1) <= 1.0  # first backoff: up to 1 s
    tries = tries.after(slow).after(slow)
    assert tries == Tries(failures=1, throttled=3)
    assert retry_delay(tries, slow, policy) is None  # three 429s: that budget is spent
    assert retry_delay(tries.after(down), down, policy) is None  # two failures: spent too
    assert tries.total == 4


async def test_ten_429s_give_up(script: Script) -> None:
    script.on("/v2/thing", default=httpx.Response(429))
    with pytest.raises(RetryableError, match=r"gave up after 10 attempts") as info:
        await requester(script, []).request("POST", URL, parse)
    assert len(script.requests) == 10 and info.value.throttled


async def test_rejection_is_not_retried(script: Script) -> None:
    script.on("/v2/thing", default=httpx.Response(400))
    with pytest.raises(RejectedError):
        await requester(script, []).request("POST", URL, parse)
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    "error",
    [httpx.ConnectError("refused"), httpx.ConnectTimeout("slow"), httpx.PoolTimeout("busy")],
)
async def test_a_paid_request_that_never_went_out_is_not_taken_and_sent_once(
    script: Script, error: Exception
) -> None:
    # Safe to send again, but the executor does it: it withdraws the intent first.
    script.on("/v2/thing", error, httpx.Response(200, text="made"))
    with pytest.raises(RetryableError, match="could not connect"):
        await requester(script, []).request("POST", URL, parse, paid=True)
    assert len(script.requests) == 1


async def test_a_paid_request_answered_not_now_is_raised_at_once_and_pauses_the_bucket(
    script: Script,
) -> None:
    now = [0.0]
    bucket = TokenBucket(60, clock=lambda: now[0])
    script.on("/v2/thing", httpx.Response(429, headers={"Retry-After": "5"}))
    with pytest.raises(RetryableError) as info:
        await requester(script, [], limiter=bucket).request("POST", URL, parse, paid=True)
    assert info.value.throttled and info.value.retry_after == 5.0
    assert len(script.requests) == 1 and bucket._paused_until == 5.0 * 1.0


LOST_AFTER_SENDING = [
    httpx.ReadError("reset"),
    httpx.ReadTimeout("slow"),
    httpx.RemoteProtocolError("Server disconnected"),
    httpx.WriteError("broken pipe"),
    httpx.WriteTimeout("stuck"),
]


@pytest.mark.parametrize("error", LOST_AFTER_SENDING)
async def test_a_create_whose_answer_is_lost_is_an_unknown_outcome_never_resent(
    script: Script, error: Exception
) -> None:
    script.on("/v2/thing", error, default=httpx.Response(200, text="second"))
    with pytest.raises(OutcomeUnknownError, match="may or may not"):
        await requester(script, []).request("POST", URL, parse, paid=True)
    assert len(script.requests) == 1


@pytest.mark.parametrize("error", LOST_AFTER_SENDING)
async def test_a_read_whose_answer_is_lost_is_simply_retried(
    script: Script, error: Exception
) -> None:
    script.on("/v2/thing", error, httpx.Response(200, text="ok"))
    assert await requester(script, []).request("GET", URL, parse) == "ok"
    assert len(script.requests) == 2


async def test_streamed_body_is_recreated_for_each_attempt(script: Script) -> None:
    script.on("/v2/thing", httpx.Response(503), httpx.Response(200, text="ok"))
    made: list[int] = []

    async def chunks():  # type: ignore[no-untyped-def]
        made.append(1)
        yield b"abc"
        yield b"def"

    await requester(script, []).request("PUT", URL, parse, body=chunks)
    assert made == [1, 1] and script.bodies == [b"abcdef", b"abcdef"]


async def test_rate_limited_posts_take_a_token_and_a_429_pauses_the_bucket(
    script: Script,
) -> None:
    now = [0.0]
    bucket = TokenBucket(60, clock=lambda: now[0])
    script.on(
        "/v2/thing",
        httpx.Response(429, headers={"Retry-After": "5"}),
        httpx.Response(200, text="ok"),
    )

    async def sleep(seconds: float) -> None:
        now[0] += seconds

    req = requester(script, [], limiter=bucket)
    req._sleep = sleep
    bucket._sleep = sleep
    assert await req.request("POST", URL, parse, rate_limited=True) == "ok"
    assert bucket.acquired == 2
    assert now[0] >= 5.0  # the second POST waited for the Retry-After


async def test_retry_log_lines_are_scrubbed(
    script: Script, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "sk_SECRET_in_message"

    def leaky(response: httpx.Response) -> str:
        if response.status_code >= 500:
            raise RetryableError("t", f"server says bad key {secret}")
        return "ok"

    script.on("/v2/thing", httpx.Response(500), httpx.Response(200))
    req = requester(script, [])
    req.scrub = Scrubber({}, [secret])
    with caplog.at_level(logging.DEBUG):
        await req.request("GET", URL, leaky)
    assert caplog.records and secret not in caplog.text


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (httpx.ConnectError("x"), "not_sent"),
        (httpx.ConnectTimeout("x"), "not_sent"),
        (httpx.PoolTimeout("x"), "not_sent"),
        (httpx.ReadTimeout("x"), "lost"),
        (httpx.WriteError("x"), "lost"),
        (httpx.RemoteProtocolError("x"), "lost"),
        (httpx.DecodingError("x"), "lost"),
        (httpx.UnsupportedProtocol("x"), "refused"),
        (httpx.InvalidURL("x"), "refused"),
        (httpx.TooManyRedirects("x"), "refused"),
    ],
)
def test_classify_read_error(error: Exception, verdict: str) -> None:
    assert classify_read_error(error) == verdict


async def test_an_undecodable_answer_to_a_create_is_unknown(script: Script) -> None:
    script.on("/v2/thing", httpx.DecodingError("bad gzip"))
    with pytest.raises(OutcomeUnknownError):
        await requester(script, []).request("POST", URL, parse, paid=True)


@pytest.mark.parametrize(
    ("response", "throttled"),
    [
        (httpx.Response(429), True),
        (httpx.Response(429, json={"code": 40000, "msg": "slow down", "data": None}), True),
        (httpx.Response(503), False),
        (httpx.Response(500, json={"code": 50000, "msg": "System error", "data": None}), False),
    ],
)
def test_the_clients_mark_429s_as_throttled(response: httpx.Response, throttled: bool) -> None:
    from reelform.providers.jogg_answers import parse_envelope
    from reelform.providers.mirako import parse_answer

    for parser in (parse_envelope, parse_answer):
        with pytest.raises(RetryableError) as info:
            parser(response, what="GET /x", paid=False, scrub=Scrubber({}))
        assert info.value.throttled is throttled, parser
