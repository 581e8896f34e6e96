"""The JoggAI client against a scripted HTTP seam (MockTransport)."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any

import httpx
import pytest
from provider_testkit import JOGG_KEY, Script, assert_no_secret, envelope

from reelform.errors import (
    ConfigError,
    OutcomeUnknownError,
    ProviderError,
    RejectedError,
    RetryableError,
)
from reelform.providers import make_provider
from reelform.providers.base import (
    Asset,
    AvatarRef,
    JobStatus,
    PhotoAvatarRequest,
    Provider,
    VideoJob,
    VoiceRequest,
)
from reelform.providers.jogg import JoggProvider
from reelform.registry import provider_traits

pytestmark = pytest.mark.anyio
P = "/api"  # JOGG_BASE_URL carries a path prefix, like the simulator's /jogg


def job(**changes: Any) -> VideoJob:
    fields: dict[str, Any] = {
        "key": "rf-0123456789abcdef",
        "name": "welcome-1",
        "voice": VoiceRequest(voice_id="en-US-ChristopherNeural", script="Hello"),
        "avatar": AvatarRef(81),
        "title": "Welcome",
        "captions": True,
    }
    fields.update(changes)
    return VideoJob(**fields)


@pytest.fixture
def jogg(make_context: Any) -> JoggProvider:
    provider = make_provider("jogg", {}, make_context())
    assert isinstance(provider, JoggProvider) and isinstance(provider, Provider)
    return provider


async def test_submit_v2_sends_the_documented_body(jogg: JoggProvider, script: Script) -> None:
    script.on(f"{P}/v2/create_video_from_avatar", envelope({"video_id": "v_1"}))
    assert await jogg.submit_video(job(webhook_url="https://hook.example/x")) == "v_1"
    (request,) = script.requests
    assert request.headers["x-api-key"] == JOGG_KEY
    assert script.json_of(request) == {
        "avatar": {"avatar_id": 81, "avatar_type": 0},
        "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hello"},
        "aspect_ratio": "portrait",
        "screen_style": 1,
        "caption": True,
        "video_name": "Welcome [rf-0123456789abcdef]",
        "webhook_url": "https://hook.example/x",
    }


async def test_submit_v2_with_audio_and_a_photo_avatar(jogg: JoggProvider, script: Script) -> None:
    audio = Asset("intro", "ab" * 32, 10, "audio/wav", path=Path("/x/intro.wav"))
    script.on(f"{P}/v2/create_video_from_avatar", envelope({"video_id": "v_2"}))
    await jogg.submit_video(
        job(
            avatar=AvatarRef(7, "photo"),
            title=None,
            aspect="square",
            voice=VoiceRequest(voice_id="v", audio=audio),
            asset_urls={audio.sha256: "https://res.test/intro.wav"},
        )
    )
    body = script.json_of(script.requests[0])
    assert body["avatar"] == {"avatar_id": 7, "avatar_type": 1}
    assert body["voice"] == {
        "type": "audio",
        "voice_id": "v",
        "audio_url": "https://res.test/intro.wav",
    }
    assert body["video_name"] == "welcome-1 [rf-0123456789abcdef]"
    assert body["aspect_ratio"] == "square" and "webhook_url" not in body


async def test_submit_without_voice_id_is_refused_locally(
    jogg: JoggProvider, script: Script
) -> None:
    with pytest.raises(RejectedError, match="voice_id"):
        await jogg.submit_video(job(voice=VoiceRequest(script="hi")))
    assert script.requests == []


async def test_submit_v1_flat_body_and_project_status(make_context: Any, script: Script) -> None:
    jogg = make_provider("jogg", {"api_version": "v1"}, make_context())
    project = "fa6228c0f52c4f3986e88f7ffa5d2864"
    script.on(f"{P}/v1/create_video_from_talking_avatar", envelope({"project_id": project}))
    script.on(
        f"{P}/v1/project",
        envelope({"id": project, "status_code": 3}),
        envelope(
            {
                "id": project,
                "status": 4,
                "video_url": "https://r/v.mp4",
                "video_duration": 6,
                "cover_url": "https://r/c.jpg",
            }
        ),
    )
    assert await jogg.submit_video(job(aspect="landscape")) == project
    body = script.json_of(script.requests[0])
    assert body == {
        "avatar_id": 81,
        "avatar_type": 0,
        "voice_id": "en-US-ChristopherNeural",
        "script": "Hello",
        "aspect_ratio": 1,
        "screen_style": 1,
        "caption": True,
        "video_name": "Welcome [rf-0123456789abcdef]",
    }
    running = await jogg.job_status(project)
    assert running.status is JobStatus.RUNNING
    assert script.requests[1].url.params["project_id"] == project
    done = await jogg.job_status(project)  # this example names the field `status`
    assert (done.status, done.video_url, done.duration) == (
        JobStatus.COMPLETED,
        "https://r/v.mp4",
        6.0,
    )


@pytest.mark.parametrize(
    ("code", "status"),
    [
        (1, JobStatus.PENDING),
        (2, JobStatus.PENDING),
        (3, JobStatus.RUNNING),
        (5, JobStatus.FAILED),
        (99, JobStatus.FAILED),
    ],
)
async def test_v1_status_codes(
    make_context: Any, script: Script, code: int, status: JobStatus
) -> None:
    jogg = make_provider("jogg", {"api_version": "v1"}, make_context())
    script.on(f"{P}/v1/project", envelope({"status_code": code, "status_desc": "bad audio"}))
    state = await jogg.job_status("p")
    assert state.status is status
    if status is JobStatus.FAILED:
        assert state.error == ("video deleted" if code == 99 else "bad audio")


async def test_v2_status_mapping(jogg: JoggProvider, script: Script) -> None:
    path = f"{P}/v2/avatar_video/v_1"
    script.on(
        path,
        envelope({"video_id": "v_1", "status": "pending"}),
        envelope({"video_id": "v_1", "status": "processing"}),
        envelope(
            {
                "video_id": "v_1",
                "status": "completed",
                "video_url": "https://r/v.mp4",
                "cover_url": "https://r/c.jpg",
                "duration": 12.5,
            }
        ),
        envelope(
            {
                "video_id": "v_1",
                "status": "failed",
                "error": {"code": 3, "message": "audio too long"},
            }
        ),
    )
    states = [await jogg.job_status("v_1") for _ in range(4)]
    assert [s.status for s in states] == [
        JobStatus.PENDING,
        JobStatus.RUNNING,
        JobStatus.COMPLETED,
        JobStatus.FAILED,
    ]
    assert states[2].video_url == "https://r/v.mp4" and states[2].duration == 12.5
    assert states[3].error == "audio too long"


@pytest.mark.parametrize(
    ("code", "http_status"),
    [(40000, 200), (40000, 400), (10104, 404), (18020, 200), (18020, 402), (18025, 403)],
)
async def test_refusals_are_rejected_without_retry(
    jogg: JoggProvider, script: Script, code: int, http_status: int
) -> None:
    script.on(
        f"{P}/v2/create_video_from_avatar",
        envelope(None, code, f"Parameter error: avatar_id is required ({code})", http_status),
    )
    with pytest.raises(RejectedError) as info:
        await jogg.submit_video(job())
    assert info.value.code == code and f"code {code}" in str(info.value)
    assert len(script.requests) == 1


async def test_invalid_key_names_the_variable_not_the_key(
    jogg: JoggProvider, script: Script
) -> None:
    script.on(f"{P}/v2/avatar_video/x", envelope(None, 10105, f"invalid key {JOGG_KEY}", 401))
    with pytest.raises(RejectedError, match=r"invalid API key \(JOGG_API_KEY\)") as info:
        await jogg.job_status("x")
    assert_no_secret(str(info.value), repr(info.value))


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (envelope(None, 50000, "system error"), OutcomeUnknownError),
        (envelope(None, 50000, "system error", 500), OutcomeUnknownError),
        (httpx.Response(502, text="<html>bad gateway</html>"), OutcomeUnknownError),
        (httpx.Response(503), OutcomeUnknownError),
        (httpx.Response(503, headers={"Retry-After": "1"}), RetryableError),
        (httpx.Response(429, headers={"Retry-After": "1"}), RetryableError),
        (envelope(None, 40000, "rate limited", 429), RetryableError),
    ],
)
async def test_a_submit_is_sent_once_and_its_answer_judged(
    jogg: JoggProvider, script: Script, answer: httpx.Response, error: type[Exception]
) -> None:
    # Only 429 and 503 + Retry-After prove the job was not made (docs/design.md); the
    # executor sends those again after withdrawing the intent. The rest is unknown.
    path = f"{P}/v2/create_video_from_avatar"
    script.on(path, answer, default=envelope({"video_id": "v_9"}))
    with pytest.raises(error) as info:
        await jogg.submit_video(job())
    assert type(info.value) is error
    assert len(script.calls(path)) == 1


@pytest.mark.parametrize("status", [401, 403])
async def test_a_bare_401_or_403_page_on_a_read_is_a_firewall_and_retried(
    jogg: JoggProvider, script: Script, status: int
) -> None:
    # JoggAI refuses a key with its 10105 envelope; a page without one is a WAF's or a
    # proxy's, and no reason to record anything as failed.
    page = httpx.Response(status, text="<html>Request blocked</html>")
    script.on(f"{P}/v2/avatar_video/x", page, envelope({"video_id": "x", "status": "pending"}))
    state = await jogg.job_status("x")
    assert state.status is JobStatus.PENDING and len(script.requests) == 2
    script.on(f"{P}/v2/avatar_video/y", default=page)
    with pytest.raises(RetryableError, match="firewall or proxy"):
        await jogg.job_status("y")


async def test_retries_exhausted_raise_retryable(jogg: JoggProvider, script: Script) -> None:
    script.on(f"{P}/v2/avatar_video/x", default=envelope(None, 50000, "system error"))
    with pytest.raises(RetryableError, match="gave up after 5 attempts"):
        await jogg.job_status("x")
    assert len(script.requests) == 5


async def test_submit_whose_answer_is_lost_is_unknown(jogg: JoggProvider, script: Script) -> None:
    script.on(
        f"{P}/v2/create_video_from_avatar",
        httpx.ReadTimeout("slow"),
        default=envelope({"video_id": "dup"}),
    )
    with pytest.raises(OutcomeUnknownError):
        await jogg.submit_video(job())
    assert len(script.requests) == 1
    assert await jogg.find_job("rf-0123456789abcdef") is None  # no listing exists


async def test_a_2xx_without_envelope_on_submit_is_unknown(
    jogg: JoggProvider, script: Script
) -> None:
    script.on(f"{P}/v2/create_video_from_avatar", httpx.Response(200, text="<html>"))
    with pytest.raises(OutcomeUnknownError):
        await jogg.submit_video(job())


async def test_upload_signs_then_puts_the_bytes(
    jogg: JoggProvider, script: Script, tmp_path: Path
) -> None:
    data = bytes(range(256)) * 1000
    file = tmp_path / "portrait.png"
    file.write_bytes(data)
    asset = Asset("portrait", hashlib.sha256(data).hexdigest(), len(data), "image/png", path=file)
    script.on(
        f"{P}/v2/upload/asset",
        envelope(
            {
                "sign_url": "https://storage.test/put/portrait.png?X-Signature=abc",
                "asset_url": "https://res.test/portrait.png",
            }
        ),
    )
    script.on("/put/portrait.png", httpx.Response(503), httpx.Response(200))
    assert await jogg.upload_asset(asset) == "https://res.test/portrait.png"
    sign, put, put_again = script.requests
    assert script.json_of(sign) == {
        "filename": "portrait.png",
        "content_type": "image/png",
        "file_size": len(data),
    }
    assert put.method == "PUT" and put.headers["content-type"] == "image/png"
    assert "x-api-key" not in put.headers and "x-api-key" not in put_again.headers
    assert put.headers["content-length"] == str(len(data))
    assert script.bodies[2] == data  # the streamed body, restarted for the retry


async def test_upload_v1_uses_octet_stream_and_asset_id(
    make_context: Any, script: Script, tmp_path: Path
) -> None:
    jogg = make_provider("jogg", {"api_version": "v1"}, make_context())
    (tmp_path / "a.mp3").write_bytes(b"ID3...")
    asset = Asset("a", "00" * 32, 6, "audio/mpeg", path=tmp_path / "a.mp3")
    script.on(
        f"{P}/v1/upload/asset",
        envelope({"sign_url": "https://s.test/p", "asset_id": "https://res.test/a.mp3"}),
    )
    script.on("/p", httpx.Response(200))
    assert await jogg.upload_asset(asset) == "https://res.test/a.mp3"
    assert script.json_of(script.requests[0]) == {"filename": "a.mp3"}
    assert script.requests[1].headers["content-type"] == "application/octet-stream"


async def test_hosted_assets_pass_through(jogg: JoggProvider, script: Script) -> None:
    asset = Asset("h", "00" * 32, 1, "audio/mpeg", url="https://cdn.test/a.mp3")
    assert await jogg.upload_asset(asset) == "https://cdn.test/a.mp3"
    assert script.requests == []


async def test_photo_avatar_motion(jogg: JoggProvider, script: Script) -> None:
    image = Asset("p", "cd" * 32, 5, "image/png", path=Path("/x/p.png"))
    script.on(
        f"{P}/v2/photo_avatar/add_motion",
        envelope({"avatar_id": 123, "motion_id": "m_1", "status": "processing"}),
    )
    script.on(
        f"{P}/v2/photo_avatar",
        envelope({"motion_id": "m_1", "avatar_id": 123, "status": "completed"}),
        envelope({"motion_id": "m_1", "status": "failed", "error_msg": "no face"}),
    )
    state = await jogg.create_photo_avatar(
        PhotoAvatarRequest(
            "rf-1",
            "founder",
            image,
            "en-US-ChristopherNeural",
            "2.0",
            asset_urls={image.sha256: "https://res.test/p.png"},
        )
    )
    assert (state.motion_id, state.status, state.avatar_id) == ("m_1", JobStatus.RUNNING, 123)
    assert script.json_of(script.requests[0]) == {
        "image_url": "https://res.test/p.png",
        "name": "founder [rf-1]",
        "voice_id": "en-US-ChristopherNeural",
        "model": "2.0",
    }
    done = await jogg.photo_avatar_status("m_1")
    assert (done.status, done.avatar_id) == (JobStatus.COMPLETED, 123)
    assert script.requests[1].url.params["motion_id"] == "m_1"
    failed = await jogg.photo_avatar_status("m_1")
    assert failed.status is JobStatus.FAILED and failed.error == "no face"


async def test_catalog_pages_until_has_more_is_false(jogg: JoggProvider, script: Script) -> None:
    def page(request: httpx.Request) -> httpx.Response:
        number = int(request.url.params["page"])
        assert request.url.params["page_size"] == "100" and number >= 1
        voices = [
            {"voice_id": f"v{number}-{i}", "name": "n", "language": "english"}
            for i in range(100 if number < 3 else 7)
        ]
        return envelope({"voices": voices, "has_more": number < 3})

    script.on(f"{P}/v2/voices", default=page)
    script.on(
        f"{P}/v2/voices/custom",
        envelope(
            {
                "total": 1,
                "voices": [
                    {"voice_id": "mine", "name": "Me", "language": "english"},
                    {"voice_id": "v1-0", "name": "dup"},
                ],
            }
        ),
    )
    voices = await jogg.list_voices("english")
    assert len(voices) == 208 and voices[-1].voice_id == "mine"
    assert voices[-1].details["origin"] == "custom"
    assert all(r.url.params["language"] == "english" for r in script.requests)
    assert len(script.calls(f"{P}/v2/voices")) == 3


async def test_catalog_stops_on_a_short_page_and_passes_filters(
    jogg: JoggProvider, script: Script
) -> None:
    full = envelope(
        {"avatars": [{"id": i, "name": f"a{i}", "gender": "female"} for i in range(100)]}
    )
    script.on(f"{P}/v2/avatars/public", full, envelope({"avatars": [{"id": 999, "name": "z"}]}))
    avatars = await jogg.list_avatars("public", {"aspect": "portrait", "gender": "female"})
    assert len(avatars) == 101 and avatars[0].kind == "public" and avatars[0].id == "0"
    assert script.requests[0].url.params["aspect_ratio"] == "portrait"
    assert script.requests[0].url.params["gender"] == "female"
    with pytest.raises(ConfigError, match="cannot be filtered by gender"):
        await jogg.list_avatars("photo", {"gender": "female"})


async def test_every_kind_of_avatar(jogg: JoggProvider, script: Script) -> None:
    script.on(f"{P}/v2/avatars/public", envelope({"avatars": [{"id": 81, "name": "Amanda"}]}))
    script.on(f"{P}/v2/avatars/custom", envelope({"avatars": [{"id": 5, "name": "Me"}]}))
    script.on(
        f"{P}/v2/avatars/photo_avatars",
        envelope({"avatars": [{"id": 6, "name": "Photo", "status": 1}]}),
    )
    avatars = await jogg.list_avatars()
    assert [(a.id, a.kind) for a in avatars] == [("81", "public"), ("5", "custom"), ("6", "photo")]


async def test_missing_key_is_a_config_error_at_first_use(
    make_context: Any, script: Script
) -> None:
    jogg = make_provider("jogg", {}, make_context(env={"JOGG_API_KEY": ""}))
    assert provider_traits(jogg.name).submit_rate_per_minute == 20  # constructing needs no key
    with pytest.raises(ConfigError, match="JOGG_API_KEY"):
        await jogg.job_status("x")
    assert script.requests == []


def test_bad_settings_are_config_errors(make_context: Any) -> None:
    with pytest.raises(ConfigError, match="api_version"):
        make_provider("jogg", {"api_version": "v3"}, make_context())
    with pytest.raises(ConfigError, match="JOGG_BASE_URL"):
        make_provider("jogg", {}, make_context(env={"JOGG_BASE_URL": "ftp://x"}))


async def test_the_key_never_leaks(
    make_context: Any, script: Script, caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    """Every kind of failure, with a server that echoes the key back."""
    jogg = make_provider("jogg", {}, make_context())
    echo = f"bad key {JOGG_KEY}"
    script.on(f"{P}/v2/avatar_video/a", envelope(None, 40000, echo))
    script.on(f"{P}/v2/avatar_video/b", default=envelope(None, 50000, echo))
    script.on(f"{P}/v2/avatar_video/c", default=httpx.Response(500, text=echo))
    script.on(f"{P}/v2/avatar_video/d", default=httpx.Response(418, text=echo))
    script.on(f"{P}/v2/avatar_video/e", default=httpx.ConnectError(echo))
    script.on(f"{P}/v2/avatar_video/f", envelope(None, 10105, echo, 401))
    script.on(f"{P}/v2/create_video_from_avatar", httpx.ReadError(echo))
    (tmp_path / "f.wav").write_bytes(b"RIFF")
    script.on(
        f"{P}/v2/upload/asset",
        envelope({"sign_url": "https://s.test/u?X-Signature=s1g", "asset_url": "https://r/f.wav"}),
    )
    script.on("/u", default=httpx.Response(403, text=echo))
    errors: list[ProviderError] = []
    with caplog.at_level(logging.DEBUG):
        for job_id in "abcdef":
            with pytest.raises(ProviderError) as info:
                await jogg.job_status(job_id)
            errors.append(info.value)
        with pytest.raises(OutcomeUnknownError) as unknown:
            await jogg.submit_video(job())
        errors.append(unknown.value)
        with pytest.raises(RejectedError) as upload:
            await jogg.upload_asset(Asset("f", "00" * 32, 4, "audio/wav", path=tmp_path / "f.wav"))
        errors.append(upload.value)
    assert_no_secret(
        caplog.text,
        repr(jogg),
        *(str(e) for e in errors),
        *(repr(e) for e in errors),
        *(str(e.args) for e in errors),
    )
    assert "s1g" not in " ".join(map(str, errors))  # signed URLs stay out of messages too


async def test_a_file_changed_since_hashing_is_not_uploaded(
    jogg: JoggProvider, script: Script, tmp_path: Path
) -> None:
    (tmp_path / "a.wav").write_bytes(b"12345")
    with pytest.raises(RejectedError, match="changed since it was hashed"):
        await jogg.upload_asset(Asset("a", "00" * 32, 4, "audio/wav", path=tmp_path / "a.wav"))
    assert script.requests == []


async def test_a_sign_url_we_cannot_reach_is_rejected_at_once(
    jogg: JoggProvider, script: Script, tmp_path: Path
) -> None:
    (tmp_path / "a.wav").write_bytes(b"1234")
    script.on(
        f"{P}/v2/upload/asset",
        envelope({"sign_url": "ftp://storage.test/x", "asset_url": "https://r/a.wav"}),
    )
    script.on("/x", httpx.UnsupportedProtocol("Request URL has an unsupported protocol 'ftp://'"))
    with pytest.raises(RejectedError, match="unusable URL"):
        await jogg.upload_asset(Asset("a", "00" * 32, 4, "audio/wav", path=tmp_path / "a.wav"))
    assert len(script.calls("/x")) == 1  # not retried


async def test_a_string_code_is_tolerated(jogg: JoggProvider, script: Script) -> None:
    script.on(
        f"{P}/v2/avatar_video/v",
        httpx.Response(
            200, json={"code": "0", "msg": "ok", "data": {"video_id": "v", "status": "pending"}}
        ),
    )
    assert (await jogg.job_status("v")).status is JobStatus.PENDING


async def test_a_success_without_an_id_is_unknown(jogg: JoggProvider, script: Script) -> None:
    script.on(f"{P}/v2/create_video_from_avatar", envelope({}))
    with pytest.raises(OutcomeUnknownError, match="without video_id"):
        await jogg.submit_video(job())


async def test_status_reads_go_over_their_own_client_when_given(
    make_context: Any, script: Script
) -> None:
    reads = Script()
    reads.on(f"{P}/v2/avatar_video/v_1", envelope({"video_id": "v_1", "status": "processing"}))
    script.on(f"{P}/v2/create_video_from_avatar", envelope({"video_id": "v_1"}))
    provider = make_provider(
        "jogg", {}, make_context(http_reads=httpx.AsyncClient(transport=httpx.MockTransport(reads)))
    )
    assert await provider.submit_video(job()) == "v_1"
    assert (await provider.job_status("v_1")).status is JobStatus.RUNNING
    assert [r.method for r in script.requests] == ["POST"]
    assert [(r.method, r.headers["x-api-key"]) for r in reads.requests] == [("GET", JOGG_KEY)]
