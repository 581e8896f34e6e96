"""What JoggAI's answers mean: pure functions from a response or its ``data`` to a value.

Kept apart from the client so that every reading of the documents (the envelope
codes, the v1 and v2 status vocabularies, a tolerant reading of their slips) is
tested without any I/O.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import httpx

from reelform.errors import OutcomeUnknownError, RejectedError, RetryableError
from reelform.providers.base import JobState, JobStatus, PhotoAvatarState
from reelform.providers.http import Scrubber, parse_retry_after, response_excerpt
from reelform.providers.submits import Answer, submit_failure

log = logging.getLogger("reelform.providers.jogg")

KEY_VARIABLE = "JOGG_API_KEY"
#: The provider's own refusals (docs/providers.md): a paid request answered with one of
#: these was not taken, for good; 10105 (invalid key) comes with HTTP 401.
REFUSAL_CODES = {
    10104: "record not found",
    10105: "invalid API key",
    18020: "insufficient credit",
    18025: "no permission to call APIs",
    40000: "parameter error",
}
#: "Insufficient credit": the account's, not the video's (submits.Verdict.NO_CREDIT).
NO_CREDIT = 18020
V1_ASPECTS = {"portrait": 0, "landscape": 1, "square": 2}
V2_STATUS = {
    "pending": JobStatus.PENDING,
    "processing": JobStatus.RUNNING,
    "completed": JobStatus.COMPLETED,
    "failed": JobStatus.FAILED,
}
V1_STATUS = {
    1: JobStatus.PENDING,
    2: JobStatus.PENDING,
    3: JobStatus.RUNNING,
    4: JobStatus.COMPLETED,
    5: JobStatus.FAILED,
    99: JobStatus.FAILED,
}


def parse_envelope(response: httpx.Response, *, what: str, paid: bool, scrub: Scrubber) -> Any:
    """The ``data`` of a successful envelope, or the ``ProviderError`` it means.

    For a ``paid`` request the error follows ``submits.judge_answer``; for others, 429,
    5xx and 50000 are worth another try and the rest is a refusal.
    """
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    try:
        payload = response.json()
    except ValueError:
        payload = None
    raw_code = payload.get("code") if isinstance(payload, dict) else None
    if isinstance(raw_code, str) and raw_code.lstrip("-").isdigit():
        raw_code = int(raw_code)  # tolerate "code": "0"
    if not isinstance(payload, dict) or not isinstance(raw_code, int) or isinstance(raw_code, bool):
        return _not_an_envelope(response, what=what, paid=paid, scrub=scrub)
    code: int = raw_code
    if code == 0:
        return payload.get("data")
    message = scrub(str(payload.get("msg") or "").strip()[:300])
    if code == 10105:
        text = f"{what}: invalid API key ({KEY_VARIABLE})"
    else:
        text = f"{what}: {message or REFUSAL_CODES.get(code) or 'error'} (code {code})"
    if paid:
        answer = Answer(
            status, retry_after, refusal=code in REFUSAL_CODES, no_credit=code == NO_CREDIT
        )
        raise submit_failure("jogg", answer, text, code=code)
    if status == 429:  # "not now" wins over whatever code came with it
        raise RetryableError(
            "jogg",
            f"{what}: rate limited ({message or 'HTTP 429'})",
            code=code,
            retry_after=retry_after,
            throttled=True,
        )
    if code in REFUSAL_CODES:
        raise RejectedError("jogg", text, code=code)
    if code == 50000 or status >= 500:
        raise RetryableError("jogg", text, code=code, retry_after=retry_after)
    raise RejectedError("jogg", text, code=code)


def _not_an_envelope(response: httpx.Response, *, what: str, paid: bool, scrub: Scrubber) -> Any:
    """An answer without JoggAI's envelope: a gateway's, a proxy's or a WAF's page."""
    status = response.status_code
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    excerpt = scrub(response_excerpt(response)) if response.content else ""
    if 200 <= status < 300:
        text = f"{what}: HTTP {status} without a JoggAI envelope"
    else:
        text = f"{what}: HTTP {status} {excerpt}".rstrip()
    if paid:
        raise submit_failure("jogg", Answer(status, retry_after), text, code=status)
    if status in (401, 403):
        # JoggAI refuses a key with its 10105 envelope; a bare 401/403 page is a
        # firewall's or a proxy's, often for a while: worth the retries of a read.
        text = f"{what}: HTTP {status} without a JoggAI envelope (a firewall or proxy?)"
    if status in (401, 403, 429) or status >= 500 or 200 <= status < 300:
        raise RetryableError(
            "jogg", text, code=status, retry_after=retry_after, throttled=status == 429
        )
    raise RejectedError("jogg", text, code=status)


def field(data: Any, name: str, what: str) -> Any:
    if not isinstance(data, dict) or data.get(name) in (None, ""):
        raise RejectedError("jogg", f"{what}: answer without {name}")
    return data[name]


def created_id(data: Any, name: str, what: str) -> str:
    """The id a successful create answered with; without one, nobody knows what exists."""
    if not isinstance(data, dict) or data.get(name) in (None, ""):
        raise OutcomeUnknownError("jogg", f"{what}: success answer without {name}")
    return str(data[name])


def _number(value: object) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        return float(value)
    except ValueError:
        return None


def remaining_quota(data: Any) -> float:
    """``data.remaining_quota`` of ``GET /v2/user/remaining_quota`` (jogg-v2.yaml: a
    number; a numeric string is tolerated). Anything else is no reading at all."""
    value = _number(data.get("remaining_quota")) if isinstance(data, dict) else None
    if value is None or not math.isfinite(value):
        raise RejectedError("jogg", "GET /v2/user/remaining_quota: answer without a number")
    return value


def v2_job_state(job_id: str, data: Any) -> JobState:
    data = data if isinstance(data, dict) else {}
    raw = str(data.get("status") or "").lower()
    status = V2_STATUS.get(raw)
    if status is None:
        log.info("jogg: unknown video status %r for %s; treated as running", raw, job_id)
        status = JobStatus.RUNNING
    video_url = data.get("video_url") or None
    if status is JobStatus.COMPLETED and not video_url:
        status = JobStatus.RUNNING  # completed without a URL yet: look again later
    error = None
    if status is JobStatus.FAILED:
        err = data.get("error")
        if isinstance(err, dict):
            error = str(err.get("message") or err.get("code") or "render failed")
        else:
            error = str(err or data.get("error_msg") or "render failed")
    return JobState(
        job_id=str(data.get("video_id") or job_id),
        status=status,
        video_url=video_url,
        duration=_number(data.get("duration")),
        cover_url=data.get("cover_url") or None,
        error=error,
    )


def v1_job_state(job_id: str, data: Any) -> JobState:
    data = data if isinstance(data, dict) else {}
    raw = data.get("status_code", data.get("status"))  # one example names it `status`
    code = int(raw) if isinstance(raw, int | str) and str(raw).isdigit() else None
    status = V1_STATUS.get(code) if code is not None else None
    if status is None:
        status = JobStatus.RUNNING
    video_url = data.get("video_url") or None
    if status is JobStatus.COMPLETED and not video_url:
        status = JobStatus.RUNNING
    error = None
    if status is JobStatus.FAILED:
        error = "video deleted" if code == 99 else str(data.get("status_desc") or "render failed")
    return JobState(
        job_id=job_id,
        status=status,
        video_url=video_url,
        duration=_number(data.get("video_duration")),
        cover_url=data.get("cover_url") or None,
        error=error,
    )


def photo_state(data: Any) -> PhotoAvatarState:
    data = data if isinstance(data, dict) else {}
    status = V2_STATUS.get(str(data.get("status") or "").lower(), JobStatus.RUNNING)
    avatar_id = data.get("avatar_id")
    return PhotoAvatarState(
        motion_id=str(data.get("motion_id") or ""),
        status=status,
        avatar_id=int(avatar_id)
        if isinstance(avatar_id, int | str) and str(avatar_id).isdigit()
        else None,
        error=(
            str(data.get("error_msg") or "motion failed") if status is JobStatus.FAILED else None
        ),
    )
