"""Verifying webhook deliveries from JoggAI and Mirako.

JoggAI signs the raw body: ``X-Webhook-Signature`` is the hex HMAC-SHA256 of the
body keyed by the endpoint secret. Mirako sends back the ``auth_token`` we gave it
as ``Authorization: Bearer <token>``; its body is undocumented beyond a task id and
a status, so a Mirako event only says "look again" (``state=None``) and the engine
confirms by polling.

Comparisons are constant-time. No message ever contains the received or the
expected secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from typing import Any

from reelform.errors import WebhookRejected
from reelform.providers.base import JobState, JobStatus, WebhookEvent


def _header(headers: Mapping[str, str], name: str) -> str | None:
    wanted = name.lower()
    for key, value in headers.items():
        if key.lower() == wanted:
            return value
    return None


def _json_object(provider: str, body: bytes) -> dict[str, Any]:
    try:
        value = json.loads(body)
    except (UnicodeDecodeError, ValueError):
        raise WebhookRejected(provider, "webhook body is not JSON") from None
    if not isinstance(value, dict):
        raise WebhookRejected(provider, "webhook body is not a JSON object")
    return value


def jogg_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_jogg(headers: Mapping[str, str], body: bytes, secret: str | None) -> WebhookEvent:
    if not secret:
        raise WebhookRejected("jogg", "no webhook secret configured (set JOGG_WEBHOOK_SECRET)")
    received = _header(headers, "X-Webhook-Signature")
    if not received:
        raise WebhookRejected("jogg", "webhook delivery without X-Webhook-Signature")
    expected = jogg_signature(secret, body)
    if not hmac.compare_digest(received.strip().lower().encode(), expected.encode()):
        raise WebhookRejected("jogg", "webhook signature does not match")
    payload = _json_object("jogg", body)
    event = str(payload.get("event") or _header(headers, "X-Webhook-Event") or "")
    data = payload.get("data")
    if not isinstance(data, dict):
        raise WebhookRejected("jogg", f"webhook event {event!r} without data")
    if event in ("generated_avatar_video_success", "generated_avatar_video_failed"):
        # v2 names the job video_id; v1 deliveries are keyed by the project id.
        job_id = data.get("video_id") or data.get("project_id") or data.get("id")
        if not job_id:
            raise WebhookRejected("jogg", f"webhook event {event!r} without a video id")
        if event.endswith("_success"):
            state = JobState(
                job_id=str(job_id),
                status=JobStatus.COMPLETED,
                video_url=data.get("video_url"),
                cover_url=data.get("cover_url"),
                duration=_number(data.get("duration")),
            )
        else:
            state = JobState(job_id=str(job_id), status=JobStatus.FAILED, error=_jogg_error(data))
        return WebhookEvent(job_id=str(job_id), state=state)
    if event in ("generated_motion_success", "generated_motion_failed"):
        motion_id = data.get("motion_id") or data.get("avatar_id")
        if not motion_id:
            raise WebhookRejected("jogg", f"webhook event {event!r} without a motion id")
        # A photo avatar's state is richer than JobState: the engine polls it.
        return WebhookEvent(job_id=str(motion_id), state=None)
    raise WebhookRejected("jogg", f"unsupported webhook event {event!r}")


def _jogg_error(data: Mapping[str, Any]) -> str:
    error = data.get("error")
    if isinstance(error, dict):
        message = error.get("message") or "render failed"
        code = error.get("code")
        return f"{message} (code {code})" if code not in (None, "") else str(message)
    return str(error or data.get("error_msg") or "render failed")


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def verify_mirako(headers: Mapping[str, str], body: bytes, token: str | None) -> WebhookEvent:
    if not token:
        raise WebhookRejected("mirako", "no webhook token configured")
    authorization = _header(headers, "Authorization") or ""
    scheme, _, received = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not received:
        raise WebhookRejected("mirako", "webhook delivery without a bearer token")
    if not hmac.compare_digest(received.strip().encode(), token.encode()):
        raise WebhookRejected("mirako", "webhook token does not match")
    payload = _json_object("mirako", body)
    # The documented webhook body names the task "id"; the status API says "task_id".
    nested = payload.get("data")
    inner: dict[str, Any] = nested if isinstance(nested, dict) else payload
    task_id = inner.get("task_id") or inner.get("id")
    if not task_id or not inner.get("status"):
        raise WebhookRejected("mirako", "webhook body without task id and status")
    return WebhookEvent(job_id=str(task_id), state=None)
