"""What an answer to a paid submit proves: the one rule behind "never pay twice".

A paid submit (a video create, JoggAI's add_motion, Mirako's speech synthesis) is
sent again only on an answer that proves the provider did not take it (docs/design.md,
"Never pay twice"):

==========================================  ===========  ==============================
answer                                      verdict      what apply does
==========================================  ===========  ==============================
HTTP 429 (any body)                         NOT_TAKEN    waits, sends again
HTTP 503 with ``Retry-After``               NOT_TAKEN    waits that long, sends again
no connection (connect error or timeout,    NOT_TAKEN    waits, sends again
no connection from the pool)
the provider's own "insufficient credit"    NO_CREDIT    withdraws the intent; stops
(JoggAI code 18020 at any HTTP status; a                 every paid submit on that
Mirako problem document with status 402)                 account: the video stays to
                                                         create, nothing is ``failed``
the provider's own client-error answer      REJECTED     records ``failed`` with the
(JoggAI codes 10104, 10105, 18025, 40000;                provider's reason
a Mirako problem document, 400-422)
anything else: 500, 502, 504, a 5xx or 4xx  UNKNOWN      the job may exist: never sent
without the provider's envelope (a                       again without a person
gateway's or a WAF's page), JoggAI 50000,
a 2xx without an id, a timeout or a
connection that broke after the request
was sent
==========================================  ===========  ==============================

A gateway answering 502 after its upstream made the job is ordinary, so no such
answer proves anything. "Insufficient credit" is a refusal (nothing was made, nothing
charged) that says nothing about the video: the same request succeeds after a top-up,
so it is not the video's failure but the account's (docs/design.md, "Credits").
Reads and downloads are not judged here: repeating them is harmless, and
``http.Requester`` retries them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

import httpx

from reelform.errors import (
    InsufficientCreditError,
    OutcomeUnknownError,
    ProviderError,
    RejectedError,
    RetryableError,
)


class Verdict(enum.StrEnum):
    NOT_TAKEN = "not_taken"
    NO_CREDIT = "no_credit"
    REJECTED = "rejected"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Answer:
    """The facts of an HTTP answer that a verdict rests on.

    ``refusal``: the body is the provider's own client-error answer (the provider's
    parser decides: a JoggAI envelope with a refusal code, a Mirako problem document).
    ``no_credit``: that refusal is the provider's own "insufficient credit" (JoggAI
    18020, a Mirako 402 problem document); it implies ``refusal``.
    """

    status: int
    retry_after: float | None = None
    refusal: bool = False
    no_credit: bool = False


#: Errors raised before a single byte of the request left this machine.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
#: Requests that could never be sent (a bad base URL): sending again cannot help.
UNSENDABLE = (httpx.UnsupportedProtocol, httpx.InvalidURL)


def judge_answer(answer: Answer) -> Verdict:
    """The verdict on an HTTP answer that was not a success."""
    if answer.status == 429:
        return Verdict.NOT_TAKEN
    if answer.status == 503 and answer.retry_after is not None:
        return Verdict.NOT_TAKEN
    if answer.no_credit:
        return Verdict.NO_CREDIT
    if answer.refusal:
        return Verdict.REJECTED
    return Verdict.UNKNOWN


def judge_error(exc: BaseException) -> Verdict:
    """The verdict on an exception raised while sending (httpx's, or any other)."""
    if isinstance(exc, NOT_SENT):
        return Verdict.NOT_TAKEN
    if isinstance(exc, UNSENDABLE):
        return Verdict.REJECTED
    return Verdict.UNKNOWN


def submit_failure(
    provider: str, answer: Answer, message: str, *, code: str | int | None = None
) -> ProviderError:
    """The error that a paid request's failed answer means, by its verdict."""
    verdict = judge_answer(answer)
    if verdict is Verdict.NOT_TAKEN:
        return RetryableError(
            provider,
            message,
            code=code,
            retry_after=answer.retry_after,
            throttled=answer.status == 429,
        )
    if verdict is Verdict.NO_CREDIT:
        return InsufficientCreditError(provider, message, code=code)
    if verdict is Verdict.REJECTED:
        return RejectedError(provider, message, code=code)
    return OutcomeUnknownError(
        provider, f"{message}; the provider may or may not have taken it", code=code
    )
