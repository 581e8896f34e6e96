"""A representative set of plans, built with the pure diff (no files, no renders)."""

from __future__ import annotations

from typing import Any

from reelform.plan.diff import AvatarRequest, OutputStatus, SpecPlan, diff
from reelform.plan.fingerprint import Request, digest
from reelform.state.lockfile import LockState
from reelform.state.records import VideoRecord


def request(
    name: str,
    provider: str = "jogg",
    script: str = "Hello there",
    seconds: float = 20,
    avatar: int = 81,
) -> Request:
    inputs: dict[str, Any] = {
        "provider": provider,
        "avatar": {"id": avatar, "type": "public"},
        "voice": {"script": script, "voice_id": "en-US-JennyNeural"},
        "aspect": "portrait",
        "captions": True,
    }
    return Request(name, provider, inputs, digest(inputs), seconds)


def entry(req: Request, status: str = "completed", **extra: Any) -> VideoRecord:
    return VideoRecord.from_json(
        {
            "fingerprint": req.fingerprint,
            "inputs": req.inputs,
            "provider": req.provider,
            "status": status,
            "job_id": f"job-{req.name}",
            **extra,
        }
    )


def representative() -> list[SpecPlan]:
    """welcome: one of every action; onboarding: a long list; faq: no changes."""
    founder = AvatarRequest("founder", "jogg", {"image": {"sha256": "ab" * 32}}, "f" * 64, "2.0")
    kept, edited, pending, broken, lost = (
        request("welcome-kept"),
        request("welcome-edited"),
        request("welcome-pending"),
        request("welcome-broken"),
        request("welcome-lost"),
    )
    lock = LockState()
    lock.videos = {
        "welcome-kept": entry(kept),
        "welcome-edited": entry(request("welcome-edited", script="Hi", avatar=12)),
        "welcome-pending": entry(pending, "submitted"),
        "welcome-broken": entry(broken, "failed", error="jogg: avatar 81 | not found"),
        "welcome-lost": entry(lost),
        "welcome-retired": entry(request("welcome-retired", script="Goodbye")),
        # Renamed to welcome-renamed, the same render: a move.
        "welcome-former": entry(request("welcome-former", script="Renamed")),
    }
    lock.digest = "1" * 64
    wanted = [
        kept,
        edited,
        pending,
        broken,
        lost,
        request("welcome-new", script="Brand new", seconds=150),
        request("welcome-renamed", script="Renamed"),
    ]
    outputs = {"welcome-kept": OutputStatus.OK, "welcome-lost": OutputStatus.MISSING}
    welcome = diff("specs/welcome.yaml", wanted, [founder], lock, outputs, "specs/welcome.lock")

    many = [request(f"onboarding-{i:02d}", provider="local", seconds=8) for i in range(1, 26)]
    onboarding = diff("specs/onboarding.yaml", many, [], LockState(), {}, "specs/onboarding.lock")

    faq_videos = [request(f"faq-{i}") for i in range(3)]
    faq_lock = LockState()
    faq_lock.videos = {r.name: entry(r) for r in faq_videos}
    faq = diff(
        "specs/faq.yaml",
        faq_videos,
        [],
        faq_lock,
        dict.fromkeys((r.name for r in faq_videos), OutputStatus.OK),
        "specs/faq.lock",
    )
    return [welcome, onboarding, faq]


def unchanged_only() -> list[SpecPlan]:
    return [representative()[2]]
