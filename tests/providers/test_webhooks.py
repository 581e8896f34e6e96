"""Webhook verification: signatures, tokens, event parsing, and nothing secret in messages."""

from __future__ import annotations

import hashlib
import hmac
import json
from typing import Any

import pytest
from provider_testkit import WEBHOOK_SECRET, assert_no_secret

from reelform.errors import WebhookRejected
from reelform.providers import make_provider
from reelform.providers.base import JobStatus

SUCCESS = {
    "event_id": "e1",
    "event": "generated_avatar_video_success",
    "timestamp": 1,
    "data": {
        "video_id": "v_1",
        "status": "completed",
        "video_url": "https://r/v.mp4",
        "cover_url": "https://r/c.jpg",
        "duration": 30,
    },
}
FAILED = {
    "event_id": "e2",
    "event": "generated_avatar_video_failed",
    "timestamp": 2,
    "data": {"video_id": "v_2", "status": "failed", "error": {"code": 7, "message": "bad audio"}},
}


def signed(payload: dict[str, Any], secret: str = WEBHOOK_SECRET) -> tuple[dict[str, str], bytes]:
    body = json.dumps(payload).encode()
    signature = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"x-webhook-signature": signature, "X-Webhook-Event": payload["event"]}, body


@pytest.fixture
def jogg(make_context: Any) -> Any:
    return make_provider("jogg", {}, make_context(webhook_secret=WEBHOOK_SECRET))


def test_jogg_success_and_failure_events(jogg: Any) -> None:
    event = jogg.verify_webhook(*signed(SUCCESS))
    assert event.job_id == "v_1" and event.state is not None
    assert (event.state.status, event.state.video_url, event.state.duration) == (
        JobStatus.COMPLETED,
        "https://r/v.mp4",
        30.0,
    )
    failed = jogg.verify_webhook(*signed(FAILED))
    assert failed.state.status is JobStatus.FAILED and failed.state.error == "bad audio (code 7)"


def test_jogg_header_names_are_case_insensitive(jogg: Any) -> None:
    headers, body = signed(SUCCESS)
    assert jogg.verify_webhook({"X-WEBHOOK-SIGNATURE": headers["x-webhook-signature"]}, body)


def test_jogg_secret_from_the_environment(make_context: Any) -> None:
    provider = make_provider("jogg", {}, make_context(env={"JOGG_WEBHOOK_SECRET": "env_secret"}))
    assert provider.verify_webhook(*signed(SUCCESS, "env_secret")).job_id == "v_1"


def test_jogg_motion_event_asks_for_a_poll(jogg: Any) -> None:
    payload = {"event": "generated_motion_success", "data": {"motion_id": "m_1"}}
    event = jogg.verify_webhook(*signed(payload))
    assert event.job_id == "m_1" and event.state is None


@pytest.mark.parametrize(
    "case",
    [
        "wrong_secret",
        "tampered",
        "missing",
        "garbage",
        "unknown",
        "no_secret_configured",
        "not_json",
    ],
)
def test_jogg_bad_deliveries_are_rejected(jogg: Any, make_context: Any, case: str) -> None:
    headers, body = signed(SUCCESS)
    provider = jogg
    if case == "wrong_secret":
        headers, body = signed(SUCCESS, "another_secret")
    elif case == "tampered":
        body = body.replace(b"v_1", b"v_X")
    elif case == "missing":
        headers = {}
    elif case == "garbage":
        headers = {"X-Webhook-Signature": "zz" * 32}
    elif case == "unknown":
        headers, body = signed({"event": "something_else", "data": {"x": 1}})
    elif case == "no_secret_configured":
        provider = make_provider("jogg", {}, make_context())
    elif case == "not_json":
        body = b"\xff\xfe"
        headers = {
            "X-Webhook-Signature": hmac.new(
                WEBHOOK_SECRET.encode(), body, hashlib.sha256
            ).hexdigest()
        }
    with pytest.raises(WebhookRejected) as info:
        provider.verify_webhook(headers, body)
    assert_no_secret(str(info.value), repr(info.value))
    received = headers.get("X-Webhook-Signature") or headers.get("x-webhook-signature")
    assert not received or received not in str(info.value)


@pytest.fixture
def mirako(make_context: Any) -> Any:
    return make_provider("mirako", {}, make_context(webhook_secret=WEBHOOK_SECRET))


@pytest.mark.parametrize(
    "body",
    [
        {"id": "t1", "status": "COMPLETED", "delayTime": 1, "executionTime": 2},  # documented shape
        {"task_id": "t1", "status": "FAILED"},
        {"data": {"task_id": "t1", "status": "COMPLETED"}},
    ],
)
def test_mirako_token_then_poll(mirako: Any, body: dict[str, Any]) -> None:
    event = mirako.verify_webhook(
        {"authorization": f"Bearer {WEBHOOK_SECRET}"}, json.dumps(body).encode()
    )
    assert event.job_id == "t1" and event.state is None


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong"},
        {"Authorization": WEBHOOK_SECRET},
        {"Authorization": f"Basic {WEBHOOK_SECRET}"},
    ],
)
def test_mirako_wrong_token(mirako: Any, headers: dict[str, str]) -> None:
    with pytest.raises(WebhookRejected) as info:
        mirako.verify_webhook(headers, b'{"id": "t1", "status": "COMPLETED"}')
    assert_no_secret(str(info.value), repr(info.value))
    assert "wrong" not in str(info.value)


def test_mirako_body_without_task(mirako: Any, make_context: Any) -> None:
    with pytest.raises(WebhookRejected, match="task id"):
        mirako.verify_webhook({"Authorization": f"Bearer {WEBHOOK_SECRET}"}, b'{"x": 1}')
    unconfigured = make_provider("mirako", {}, make_context())
    with pytest.raises(WebhookRejected, match="no webhook token"):
        unconfigured.verify_webhook({"Authorization": "Bearer x"}, b"{}")
