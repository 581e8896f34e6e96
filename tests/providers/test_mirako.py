"""The Mirako client against a scripted HTTP seam (MockTransport)."""

from __future__ import annotations

import base64
import io
import logging
import wave
from pathlib import Path
from typing import Any

import httpx
import pytest
from provider_testkit import MIRAKO_KEY, WEBHOOK_SECRET, Script, assert_no_secret

from reelform.errors import (
    ConfigError,
    OutcomeUnknownError,
    ProviderError,
    RejectedError,
    RetryableError,
)
from reelform.providers import make_provider
from reelform.providers.base import Asset, JobStatus, Provider, VideoJob, VoiceRequest
from reelform.providers.mirako import MirakoProvider, pcm_to_wav
from reelform.registry import provider_traits

pytestmark = pytest.mark.anyio
SUBMIT = "/v1/video/async_generate_talking_avatar"


def problem(
    status: int,
    title: str,
    detail: str = "",
    errors: Any = None,
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    doc: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        doc["detail"] = detail
    if errors is not None:
        doc["errors"] = errors
    return httpx.Response(
        status, json=doc, headers={"content-type": "application/problem+json", **(headers or {})}
    )


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Asset]:
    (tmp_path / "face.png").write_bytes(b"\x89PNG-face")
    (tmp_path / "intro.wav").write_bytes(b"RIFF-intro")
    return {
        "image": Asset("face", "aa" * 32, 9, "image/png", path=tmp_path / "face.png"),
        "audio": Asset("intro", "bb" * 32, 10, "audio/wav", path=tmp_path / "intro.wav"),
    }


@pytest.fixture
def mirako(make_context: Any) -> MirakoProvider:
    provider = make_provider("mirako", {}, make_context(webhook_secret=WEBHOOK_SECRET))
    assert isinstance(provider, MirakoProvider) and isinstance(provider, Provider)
    assert provider_traits(provider.name).submit_rate_per_minute is None
    return provider


def job(files: dict[str, Asset], **changes: Any) -> VideoJob:
    fields: dict[str, Any] = {
        "key": "rf-1",
        "name": "hello",
        "image": files["image"],
        "voice": VoiceRequest(audio=files["audio"]),
    }
    fields.update(changes)
    return VideoJob(**fields)


async def test_submit_sends_only_image_audio_and_webhook(
    mirako: MirakoProvider, script: Script, files: dict[str, Asset]
) -> None:
    script.on(
        SUBMIT, httpx.Response(200, json={"data": {"task_id": "xdac2o3c", "status": "IN_QUEUE"}})
    )
    assert await mirako.upload_asset(files["image"]) == f"local:{'aa' * 32}"
    task = await mirako.submit_video(job(files, webhook_url="https://hook.test/m"))
    assert task == "xdac2o3c"
    (request,) = script.requests
    assert request.headers["authorization"] == f"Bearer {MIRAKO_KEY}"
    assert script.json_of(request) == {
        "image": base64.b64encode(b"\x89PNG-face").decode(),
        "audio": base64.b64encode(b"RIFF-intro").decode(),
        "webhook": {"url": "https://hook.test/m", "auth_token": WEBHOOK_SECRET},
    }


async def test_script_is_synthesised_then_wrapped_as_wav(
    mirako: MirakoProvider, script: Script, files: dict[str, Asset]
) -> None:
    pcm = b"\x01\x00\xff\x7f" * 400
    script.on(
        "/v1/speech/tts",
        httpx.Response(
            200,
            json={
                "data": {
                    "id": "t1",
                    "voice_profile_id": "vp",
                    "b64_audio_str": base64.b64encode(pcm).decode(),
                }
            },
        ),
    )
    script.on(SUBMIT, httpx.Response(200, json={"data": {"task_id": "t", "status": "IN_QUEUE"}}))
    await mirako.submit_video(job(files, voice=VoiceRequest(voice_id="vp", script="Hi there")))
    tts, submit = script.requests
    assert script.json_of(tts) == {
        "text": "Hi there",
        "voice_profile_id": "vp",
        "return_type": "b64_audio_str",
    }
    audio = base64.b64decode(script.json_of(submit)["audio"])
    with wave.open(io.BytesIO(audio)) as wav:
        assert (wav.getnchannels(), wav.getsampwidth(), wav.getframerate()) == (1, 2, 16000)
        assert wav.readframes(wav.getnframes()) == pcm


def test_pcm_that_already_is_wav_is_kept() -> None:
    wav = pcm_to_wav(b"\x00\x00" * 10, 44100)
    assert pcm_to_wav(wav) == wav


async def test_tts_whose_answer_is_lost_is_unknown_and_no_video_is_sent(
    mirako: MirakoProvider, script: Script, files: dict[str, Asset]
) -> None:
    # Speech is billed: a lost answer proves nothing (the executor records the video
    # as unknown, since no video was submitted).
    script.on("/v1/speech/tts", httpx.ReadError("reset"))
    with pytest.raises(OutcomeUnknownError, match="may or may not"):
        await mirako.prepare_job(job(files, voice=VoiceRequest(voice_id="vp", script="Hi")))
    assert len(script.requests) == 1  # not resent, and no video was submitted


async def test_hosted_asset_is_downloaded_without_credentials(
    mirako: MirakoProvider, script: Script, files: dict[str, Asset]
) -> None:
    hosted = Asset("remote", "cc" * 32, 3, "audio/mpeg", url="https://cdn.test/a.mp3")
    assert await mirako.upload_asset(hosted) == "https://cdn.test/a.mp3"
    script.on("/a.mp3", httpx.Response(503), httpx.Response(200, content=b"ID3"))
    script.on(SUBMIT, httpx.Response(200, json={"data": {"task_id": "t", "status": "IN_QUEUE"}}))
    await mirako.submit_video(job(files, voice=VoiceRequest(audio=hosted)))
    downloads = script.calls("/a.mp3")
    assert len(downloads) == 2 and "authorization" not in downloads[0].headers
    assert base64.b64decode(script.json_of(script.requests[-1])["audio"]) == b"ID3"


@pytest.mark.parametrize(
    ("raw", "status", "error"),
    [
        ("IN_QUEUE", JobStatus.PENDING, None),
        ("IN_PROGRESS", JobStatus.RUNNING, None),
        ("FAILED", JobStatus.FAILED, "no face found (FAILED)"),
        ("CANCELED", JobStatus.FAILED, "task canceled (CANCELED)"),
        ("TIMED_OUT", JobStatus.FAILED, "task timed out (TIMED_OUT)"),
    ],
)
async def test_status_mapping(
    mirako: MirakoProvider, script: Script, raw: str, status: JobStatus, error: str | None
) -> None:
    data: dict[str, Any] = {"task_id": "t", "status": raw}
    if raw == "FAILED":
        data["error"] = "no face found"
    script.on(f"{SUBMIT}/t/status", httpx.Response(200, json={"data": data}))
    state = await mirako.job_status("t")
    assert (state.status, state.error) == (status, error)


async def test_completed_status(mirako: MirakoProvider, script: Script) -> None:
    script.on(
        f"{SUBMIT}/t/status",
        httpx.Response(
            200,
            json={
                "data": {
                    "task_id": "t",
                    "status": "COMPLETED",
                    "file_url": "https://f/x.mp4",
                    "output_duration": 4.2,
                }
            },
        ),
    )
    state = await mirako.job_status("t")
    assert (state.status, state.video_url, state.duration) == (
        JobStatus.COMPLETED,
        "https://f/x.mp4",
        4.2,
    )


async def test_problem_documents_become_clear_messages(
    mirako: MirakoProvider, script: Script, files: dict[str, Asset]
) -> None:
    script.on(
        SUBMIT,
        problem(
            422,
            "Unprocessable Entity",
            "validation failed",
            [{"location": "body.image", "message": "image must be at least 512x512", "value": 1}],
        ),
    )
    with pytest.raises(RejectedError) as info:
        await mirako.submit_video(job(files))
    assert str(info.value) == (
        f"mirako: POST {SUBMIT}: Unprocessable Entity: validation failed; "
        "body.image: image must be at least 512x512"
    )
    assert info.value.code == 422 and len(script.requests) == 1


@pytest.mark.parametrize(
    ("answer", "match"),
    [
        (problem(402, "Payment Required", "balance 0"), "insufficient credits"),
        (httpx.Response(402), "insufficient credits"),
        (problem(401, "Unauthorized"), r"invalid API key \(MIRAKO_API_KEY\)"),
        (httpx.Response(403), "HTTP 403"),
        (problem(404, "Not Found", "task not found"), "task not found"),
        (httpx.Response(400, text="plain words"), "HTTP 400 plain words"),
    ],
)
async def test_refusals(
    mirako: MirakoProvider, script: Script, answer: httpx.Response, match: str
) -> None:
    script.on(f"{SUBMIT}/t/status", answer)
    with pytest.raises(RejectedError, match=match):
        await mirako.job_status("t")
    assert len(script.requests) == 1


@pytest.mark.parametrize(
    ("answer", "error"),
    [
        (problem(429, "Too Many Requests", headers={"Retry-After": "2"}), RetryableError),
        (httpx.Response(429), RetryableError),
        (httpx.Response(503, headers={"Retry-After": "2"}), RetryableError),
        (problem(500, "Internal Server Error"), OutcomeUnknownError),
        (httpx.Response(503), OutcomeUnknownError),
        (httpx.Response(502, text="x"), OutcomeUnknownError),
        (problem(422, "Unprocessable Entity"), RejectedError),
    ],
)
async def test_a_submit_is_sent_once_and_its_answer_judged(
    mirako: MirakoProvider,
    script: Script,
    files: dict[str, Asset],
    answer: httpx.Response,
    error: type[Exception],
) -> None:
    script.on(
        SUBMIT, answer, httpx.Response(200, json={"data": {"task_id": "ok", "status": "IN_QUEUE"}})
    )
    with pytest.raises(error) as info:
        await mirako.submit_video(job(files))
    assert type(info.value) is error
    assert len(script.requests) == 1


async def test_lost_answer_to_a_submit_is_unknown(
    mirako: MirakoProvider, script: Script, files: dict[str, Asset]
) -> None:
    script.on(SUBMIT, httpx.RemoteProtocolError("Server disconnected"))
    with pytest.raises(OutcomeUnknownError):
        await mirako.submit_video(job(files))
    assert len(script.requests) == 1 and await mirako.find_job("rf-1") is None


async def test_voices_merge_premade_and_own(mirako: MirakoProvider, script: Script) -> None:
    script.on(
        "/v1/voice/premade_profiles",
        httpx.Response(
            200,
            json={
                "data": [
                    {"id": "p1", "name": "Mira", "languages": ["en", "yue"], "is_premade": True},
                    {"id": "p2", "name": "Kai", "languages": ["ja"], "is_premade": True},
                ]
            },
        ),
    )
    script.on(
        "/v1/voice/profiles",
        httpx.Response(
            200,
            json={"data": [{"id": "u1", "name": "Me", "languages": ["en"], "is_premade": False}]},
        ),
    )
    voices = await mirako.list_voices("en")
    assert [(v.voice_id, v.details["origin"]) for v in voices] == [("p1", "premade"), ("u1", "own")]
    script.on("/v1/voice/premade_profiles", httpx.Response(200, json={"data": None}))
    script.on("/v1/voice/profiles", httpx.Response(200, json={"data": None}))
    assert await mirako.list_voices() == []


async def test_missing_key_and_image(
    make_context: Any, script: Script, files: dict[str, Asset]
) -> None:
    mirako = make_provider("mirako", {}, make_context(env={"MIRAKO_API_KEY": ""}))
    with pytest.raises(ConfigError, match="MIRAKO_API_KEY"):
        await mirako.job_status("t")
    with pytest.raises(RejectedError, match="needs an image"):
        await mirako.submit_video(job(files, image=None))
    assert script.requests == []


async def test_the_key_never_leaks(
    mirako: MirakoProvider,
    script: Script,
    files: dict[str, Asset],
    caplog: pytest.LogCaptureFixture,
) -> None:
    echo = f"token {MIRAKO_KEY} / {WEBHOOK_SECRET}"
    answers = {
        "a": problem(401, echo, echo, [{"location": echo, "message": echo}]),
        "b": httpx.Response(500, text=echo),
        "c": httpx.Response(400, text=echo),
        "d": httpx.ConnectError(echo),
        "e": problem(429, echo),
    }
    for name, answer in answers.items():
        script.on(f"{SUBMIT}/{name}/status", default=answer)
    script.on(SUBMIT, httpx.WriteError(echo))
    errors: list[ProviderError] = []
    with caplog.at_level(logging.DEBUG):
        for name in answers:
            with pytest.raises(ProviderError) as info:
                await mirako.job_status(name)
            errors.append(info.value)
        with pytest.raises(OutcomeUnknownError) as unknown:
            await mirako.submit_video(job(files))
        errors.append(unknown.value)
    assert_no_secret(
        caplog.text, repr(mirako), *(str(e) for e in errors), *(repr(e) for e in errors)
    )


async def test_a_missing_file_is_refused_before_any_request(
    mirako: MirakoProvider, script: Script, files: dict[str, Asset], tmp_path: Path
) -> None:
    gone = Asset("gone", "dd" * 32, 1, "image/png", path=tmp_path / "gone.png")
    with pytest.raises(RejectedError, match="not a file"):
        await mirako.upload_asset(gone)
    with pytest.raises(RejectedError, match="cannot read"):
        await mirako.submit_video(
            job(files, image=gone, voice=VoiceRequest(voice_id="vp", script="Hi"))
        )
    assert script.requests == []  # no speech paid for a video that cannot be made


async def test_status_reads_go_over_their_own_client_when_given(
    make_context: Any, script: Script, files: dict[str, Asset]
) -> None:
    reads = Script()
    reads.on(
        f"{SUBMIT}/t/status",
        httpx.Response(200, json={"data": {"task_id": "t", "status": "IN_PROGRESS"}}),
    )
    script.on(SUBMIT, httpx.Response(200, json={"data": {"task_id": "t", "status": "IN_QUEUE"}}))
    provider = make_provider(
        "mirako",
        {},
        make_context(http_reads=httpx.AsyncClient(transport=httpx.MockTransport(reads))),
    )
    assert await provider.submit_video(job(files)) == "t"
    assert (await provider.job_status("t")).status is JobStatus.RUNNING
    assert [r.method for r in script.requests] == ["POST"]
    assert [(r.method, r.headers["authorization"]) for r in reads.requests] == [
        ("GET", f"Bearer {MIRAKO_KEY}")
    ]
