"""Apply's decisions, one table each (apply/decide.py: pure, no I/O)."""

from __future__ import annotations

from typing import Any

import pytest

from reelform.apply.decide import (
    AvatarStep,
    VideoStep,
    after_lost_answer,
    avatar_step,
    keep_polling,
    recordable_url,
    summary_status,
    video_step,
)
from reelform.plan.diff import Action
from reelform.state.records import AvatarRecord, Status, VideoRecord

FP = "f" * 64
OTHER = "0" * 64


def entry(status: str | None = None, fingerprint: str = FP, **extra: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"fingerprint": fingerprint, **extra}
    if status is not None:
        found["status"] = status
    return found


POLL, FIND, UNKNOWN, SUBMIT, DOWNLOAD = (
    VideoStep.POLL,
    VideoStep.FIND,
    VideoStep.UNKNOWN,
    VideoStep.SUBMIT,
    VideoStep.DOWNLOAD,
)


@pytest.mark.parametrize(
    ("action", "found", "resubmit", "finds_jobs", "step"),
    [
        (Action.CREATE, {}, False, False, SUBMIT),
        (Action.REPLACE, entry("submitted", OTHER, job_id="old"), False, False, SUBMIT),
        (Action.RETRY, entry("failed", job_id="j"), False, False, SUBMIT),
        (Action.DOWNLOAD, entry("completed"), False, False, DOWNLOAD),
        # Rule 1: a job id on record is polled, whatever the plan was made from.
        (Action.RESUME, entry("submitted", job_id="j"), False, False, POLL),
        (Action.RETRY, entry("submitted", job_id="j"), True, True, POLL),
        (Action.RESUME, entry("submitted"), False, False, UNKNOWN),  # torn: no id
        (Action.RESUME, entry("submitted"), True, False, SUBMIT),
        # Rule 2: an interrupted submit is looked up, or a person decides.
        (Action.RESUME, entry("submitting"), False, True, FIND),
        (Action.UNKNOWN, entry("submitting"), False, False, UNKNOWN),
        (Action.UNKNOWN, entry("submitting"), True, False, SUBMIT),
        (Action.UNKNOWN, entry("unknown"), False, True, UNKNOWN),
        (Action.UNKNOWN, entry("unknown"), True, False, SUBMIT),
    ],
)
def test_video_step(
    action: Action, found: dict[str, Any], resubmit: bool, finds_jobs: bool, step: VideoStep
) -> None:
    record = VideoRecord.from_json(found)
    assert video_step(action, record, FP, resubmit=resubmit, finds_jobs=finds_jobs) is step


@pytest.mark.parametrize(
    ("found", "resubmit", "step"),
    [("job-1", False, POLL), ("job-1", True, POLL), (None, False, UNKNOWN), (None, True, SUBMIT)],
)
def test_after_lost_answer(found: str | None, resubmit: bool, step: VideoStep) -> None:
    assert after_lost_answer(found, resubmit=resubmit) is step


@pytest.mark.parametrize(
    ("found", "resubmit", "step"),
    [
        ({}, False, AvatarStep.CREATE),
        (entry("completed", OTHER, avatar_id=7), False, AvatarStep.CREATE),
        (entry("completed", avatar_id=7), False, AvatarStep.READY),
        (entry("completed"), False, AvatarStep.CREATE),  # made, but no avatar id kept
        (entry("submitted", motion_id="m"), False, AvatarStep.WAIT),
        (entry("failed", motion_id="m"), False, AvatarStep.CREATE),
        (entry("submitting"), False, AvatarStep.REFUSE),
        (entry("unknown"), False, AvatarStep.REFUSE),
        (entry("unknown"), True, AvatarStep.CREATE),
    ],
)
def test_avatar_step(found: dict[str, Any], resubmit: bool, step: AvatarStep) -> None:
    assert avatar_step(AvatarRecord.from_json(found), FP, resubmit=resubmit) is step


@pytest.mark.parametrize(
    ("status", "word"),
    [
        ("submitted", "running"),
        ("submitting", "unknown"),
        ("unknown", "unknown"),
        ("failed", "failed"),
        (None, "failed"),
    ],
)
def test_summary_status(status: str | None, word: str) -> None:
    assert summary_status(Status.of(status) if status else None) == word


def test_polling_stops_only_past_the_tolerance() -> None:
    assert [keep_polling(n, 3) for n in range(1, 5)] == [True, True, False, False]


@pytest.mark.parametrize(
    ("url", "kept", "signed"),
    [
        ("https://cdn.test/v/1.mp4", "https://cdn.test/v/1.mp4", False),
        (
            "https://s3.test/v/1.mp4?X-Amz-Signature=abc&X-Amz-Expires=600",
            "https://s3.test/v/1.mp4",
            True,
        ),
        ("https://cdn.test/v/1.mp4#t=1", "https://cdn.test/v/1.mp4#t=1", False),
        ("file:///tmp/out/a.mp4", "file:///tmp/out/a.mp4", False),
    ],
)
def test_recordable_url_drops_a_signature(url: str, kept: str, signed: bool) -> None:
    assert recordable_url(url) == (kept, signed)
