"""What an answer to a paid submit proves: every case of docs/design.md's table.

Each row goes through the real parsers (JoggAI's envelope, Mirako's problem
documents) with ``paid=True``, so the table tests the rule where it is applied,
not a copy of it.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from reelform.errors import (
    InsufficientCreditError,
    OutcomeUnknownError,
    ProviderError,
    RejectedError,
    RetryableError,
)
from reelform.providers.http import Scrubber, paid_error
from reelform.providers.jogg_answers import parse_envelope
from reelform.providers.mirako import parse_answer
from reelform.providers.submits import Answer, Verdict, judge_answer, judge_error

NOT_TAKEN, REJECTED, UNKNOWN = Verdict.NOT_TAKEN, Verdict.REJECTED, Verdict.UNKNOWN
NO_CREDIT = Verdict.NO_CREDIT
ERRORS: dict[Verdict, type[ProviderError]] = {
    NOT_TAKEN: RetryableError,
    NO_CREDIT: InsufficientCreditError,
    REJECTED: RejectedError,
    UNKNOWN: OutcomeUnknownError,
}
HTML_502 = "<html><body><h1>502 Bad Gateway</h1></body></html>"
HTML_403 = "<html><head><title>403 Forbidden</title></head><body>Request blocked</body></html>"
RETRY = {"Retry-After": "7"}


def envelope(code: int, msg: str = "x") -> dict[str, Any]:
    return {"code": code, "msg": msg, "data": None}


def problem(status: int) -> dict[str, Any]:
    return {"type": "about:blank", "title": "t", "status": status, "detail": "d"}


def html(status: int, text: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status, text=text, headers={"content-type": "text/html", **(headers or {})}
    )


JOGG_CASES = [
    # (answer, verdict, why)
    (httpx.Response(429), NOT_TAKEN, "429 without a body"),
    (httpx.Response(429, json=envelope(40000)), NOT_TAKEN, "429 wins over any code"),
    (httpx.Response(503, headers=RETRY), NOT_TAKEN, "503 with Retry-After"),
    (httpx.Response(503, json=envelope(50000), headers=RETRY), NOT_TAKEN, "503+RA, envelope"),
    (httpx.Response(503), UNKNOWN, "503 without Retry-After"),
    (httpx.Response(200, json=envelope(40000)), REJECTED, "parameter error, HTTP 200"),
    (httpx.Response(400, json=envelope(40000)), REJECTED, "parameter error, HTTP 400"),
    (httpx.Response(200, json=envelope(10104)), REJECTED, "record not found"),
    (httpx.Response(401, json=envelope(10105)), REJECTED, "invalid key"),
    (httpx.Response(402, json=envelope(18020)), NO_CREDIT, "insufficient credit, HTTP 402"),
    (httpx.Response(200, json=envelope(18020)), NO_CREDIT, "insufficient credit, HTTP 200"),
    (httpx.Response(400, json=envelope(18020)), NO_CREDIT, "insufficient credit, HTTP 400"),
    (httpx.Response(429, json=envelope(18020)), NOT_TAKEN, "429 wins over no credit too"),
    (httpx.Response(200, json={"code": "18020", "msg": "x"}), NO_CREDIT, "18020 as a string"),
    (html(402, "<html>Payment Required</html>"), UNKNOWN, "a 402 page, not JoggAI's envelope"),
    (httpx.Response(200, json=envelope(18025)), REJECTED, "no permission"),
    (httpx.Response(200, json=envelope(50000)), UNKNOWN, "system error, HTTP 200"),
    (httpx.Response(500, json=envelope(50000)), UNKNOWN, "system error, HTTP 500"),
    (httpx.Response(200, json=envelope(77777)), UNKNOWN, "a code nobody documented"),
    (httpx.Response(500), UNKNOWN, "bare 500"),
    (html(502, HTML_502), UNKNOWN, "a gateway's 502 page"),
    (html(504, "<html>504 Gateway Time-out</html>"), UNKNOWN, "a gateway's 504 page"),
    (html(502, HTML_502, RETRY), UNKNOWN, "a 502 even with Retry-After"),
    (html(403, HTML_403), UNKNOWN, "a WAF's 403 page"),
    (httpx.Response(401), UNKNOWN, "a bare 401: not JoggAI's envelope"),
    (httpx.Response(200, text="OK"), UNKNOWN, "a 2xx that is no envelope"),
    (httpx.Response(200, json={"code": "40000", "msg": "x"}), REJECTED, "code as a string"),
]

MIRAKO_CASES = [
    (httpx.Response(429), NOT_TAKEN, "429 without a body"),
    (httpx.Response(429, json=problem(429)), NOT_TAKEN, "429 problem"),
    (httpx.Response(503, json=problem(503), headers=RETRY), NOT_TAKEN, "503 with Retry-After"),
    (httpx.Response(503, json=problem(503)), UNKNOWN, "503 without Retry-After"),
    (httpx.Response(400, json=problem(400)), REJECTED, "400 problem"),
    (httpx.Response(401, json=problem(401)), REJECTED, "401 problem"),
    (httpx.Response(402, json=problem(402)), NO_CREDIT, "insufficient credits"),
    (
        httpx.Response(
            402, content=b'{"title":"x"}', headers={"content-type": "application/problem+json"}
        ),
        NO_CREDIT,
        "402 problem+json content type",
    ),
    (httpx.Response(402), UNKNOWN, "a 402 without a problem document"),
    (html(402, "<html>Payment Required</html>"), UNKNOWN, "a 402 page from someone else"),
    (httpx.Response(403, json=problem(403)), REJECTED, "403 problem"),
    (httpx.Response(404, json=problem(404)), REJECTED, "404 problem"),
    (httpx.Response(422, json=problem(422)), REJECTED, "422 problem"),
    (
        httpx.Response(
            422, content=b'{"title":"x"}', headers={"content-type": "application/problem+json"}
        ),
        REJECTED,
        "problem+json content type",
    ),
    (httpx.Response(400), UNKNOWN, "a 400 without a body"),
    (html(403, HTML_403), UNKNOWN, "a WAF's 403 page"),
    (httpx.Response(500, json=problem(500)), UNKNOWN, "500 problem"),
    (html(502, HTML_502), UNKNOWN, "a gateway's 502 page"),
    (html(504, "<html>504</html>"), UNKNOWN, "a gateway's 504 page"),
    (httpx.Response(200, json={"ok": True}), UNKNOWN, "a 2xx without data"),
]


def _verdict_of(parser: Any, response: httpx.Response) -> Verdict:
    response.request = httpx.Request("POST", "https://api.test/create")
    with pytest.raises(ProviderError) as info:
        parser(response, what="POST /create", paid=True, scrub=Scrubber({}))
    return next(v for v, error in ERRORS.items() if type(info.value) is error)


@pytest.mark.parametrize(("response", "verdict", "why"), JOGG_CASES, ids=[c[2] for c in JOGG_CASES])
def test_jogg_paid_answers(response: httpx.Response, verdict: Verdict, why: str) -> None:
    assert _verdict_of(parse_envelope, response) is verdict, why


@pytest.mark.parametrize(
    ("response", "verdict", "why"), MIRAKO_CASES, ids=[c[2] for c in MIRAKO_CASES]
)
def test_mirako_paid_answers(response: httpx.Response, verdict: Verdict, why: str) -> None:
    assert _verdict_of(parse_answer, response) is verdict, why


def test_a_not_taken_answer_carries_its_wait_and_whether_it_was_a_429() -> None:
    response = httpx.Response(503, headers=RETRY, request=httpx.Request("POST", "https://x/"))
    with pytest.raises(RetryableError) as info:
        parse_envelope(response, what="POST /x", paid=True, scrub=Scrubber({}))
    assert info.value.retry_after == 7.0 and not info.value.throttled
    response = httpx.Response(429, request=httpx.Request("POST", "https://x/"))
    with pytest.raises(RetryableError) as info:
        parse_answer(response, what="POST /x", paid=True, scrub=Scrubber({}))
    assert info.value.throttled


def test_a_rejection_keeps_the_providers_reason() -> None:
    response = httpx.Response(
        200,
        json=envelope(40000, "Parameter error: avatar_id is required"),
        request=httpx.Request("POST", "https://x/"),
    )
    with pytest.raises(RejectedError, match="avatar_id is required"):
        parse_envelope(response, what="POST /x", paid=True, scrub=Scrubber({}))


@pytest.mark.parametrize(
    ("error", "verdict"),
    [
        (httpx.ConnectError("refused"), NOT_TAKEN),
        (httpx.ConnectTimeout("slow"), NOT_TAKEN),
        (httpx.PoolTimeout("busy"), NOT_TAKEN),
        (httpx.ReadTimeout("slow"), UNKNOWN),
        (httpx.WriteTimeout("stuck"), UNKNOWN),
        (httpx.ReadError("reset"), UNKNOWN),
        (httpx.WriteError("broken pipe"), UNKNOWN),
        (httpx.RemoteProtocolError("Server disconnected"), UNKNOWN),
        (httpx.LocalProtocolError("bad header"), UNKNOWN),
        (httpx.DecodingError("bad gzip"), UNKNOWN),
        (httpx.TooManyRedirects("loop"), UNKNOWN),
        (httpx.ProxyError("proxy"), UNKNOWN),
        (httpx.UnsupportedProtocol("ftp"), REJECTED),
        (httpx.InvalidURL("bad"), REJECTED),
        (UnicodeEncodeError("ascii", "“", 0, 1, "no"), UNKNOWN),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_paid_transport_errors(error: Exception, verdict: Verdict) -> None:
    assert judge_error(error) is verdict
    if isinstance(error, httpx.HTTPError | httpx.InvalidURL):
        assert type(paid_error("jogg", "POST /x", error)) is ERRORS[verdict]


@pytest.mark.parametrize(
    ("answer", "verdict"),
    [
        (Answer(429), NOT_TAKEN),
        (Answer(429, refusal=True), NOT_TAKEN),
        (Answer(503, retry_after=0.0), NOT_TAKEN),
        (Answer(503), UNKNOWN),
        (Answer(502, retry_after=3.0), UNKNOWN),
        (Answer(500), UNKNOWN),
        (Answer(504), UNKNOWN),
        (Answer(400), UNKNOWN),
        (Answer(400, refusal=True), REJECTED),
        (Answer(402, refusal=True, no_credit=True), NO_CREDIT),
        (Answer(200, refusal=True, no_credit=True), NO_CREDIT),
        (Answer(429, refusal=True, no_credit=True), NOT_TAKEN),
        (Answer(200, refusal=True), REJECTED),
        (Answer(200), UNKNOWN),
    ],
)
def test_judge_answer(answer: Answer, verdict: Verdict) -> None:
    assert judge_answer(answer) is verdict
