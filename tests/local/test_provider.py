"""LocalProvider through the Provider protocol: submit, poll, file URL, restarts."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import anyio
import pytest

from reelform.errors import RejectedError, WebhookRejected
from reelform.providers import ProviderContext, make_provider
from reelform.providers.base import (
    Asset,
    AvatarRef,
    JobState,
    JobStatus,
    PhotoAvatarRequest,
    Provider,
    VideoJob,
    VoiceRequest,
)
from reelform.providers.local import LocalProvider
from reelform.registry import provider_traits

pytestmark = pytest.mark.anyio
PREVIEW = {"preview": "true"}


@pytest.fixture
async def provider(tmp_path: Path) -> AsyncIterator[LocalProvider]:
    p = LocalProvider({"workers": "2"}, ProviderContext(work_dir=tmp_path / ".reelform"))
    yield p
    await p.aclose()


def job(key: str, script: str | None = "Hello from the local provider.", **kw: Any) -> VideoJob:
    voice = kw.pop("voice", VoiceRequest(voice_id=kw.pop("voice_id", None), script=script))
    return VideoJob(key=key, name=key, voice=voice, settings=PREVIEW, **kw)


async def wait(p: LocalProvider, job_id: str, timeout: float = 60) -> JobState:
    deadline = time.monotonic() + timeout
    while True:
        state = await p.job_status(job_id)
        if state.status.finished or time.monotonic() > deadline:
            return state
        await anyio.sleep(0.05)


def url_path(url: str | None) -> Path:
    assert url is not None and url.startswith("file://")
    return Path(unquote(urlparse(url).path))


async def test_make_provider_gives_a_protocol_conforming_local_provider(tmp_path: Path) -> None:
    p = make_provider("local", {}, ProviderContext(work_dir=tmp_path))
    assert isinstance(p, LocalProvider) and isinstance(p, Provider)
    assert provider_traits(p.name).submit_rate_per_minute is None
    await p.aclose()


async def test_submit_poll_and_file_url(
    provider: LocalProvider, probe_mp4: Callable[[Path], Any]
) -> None:
    job_id = await provider.submit_video(job("rf-one", avatar=AvatarRef(2), captions=True))
    assert job_id == "rf-one"
    assert await provider.find_job("rf-one") == "rf-one"
    assert await provider.find_job("rf-other") is None
    state = await wait(provider, job_id)
    assert state.status == JobStatus.COMPLETED, state.error
    mp4 = url_path(state.video_url)
    assert mp4 == provider.folder / "rf-one.mp4"
    assert state.duration is not None and state.duration > 1
    p = probe_mp4(mp4)
    assert (p.width, p.height, p.video_codec, p.audio_codec) == (360, 640, "h264", "aac")
    assert (provider.folder / "rf-one.job.json").exists()
    # nothing but finished files in the folder (temp files are renamed or removed)
    assert not [f for f in provider.folder.iterdir() if f.name.startswith(".")]


async def test_unknown_voice_fails_with_reason(provider: LocalProvider) -> None:
    job_id = await provider.submit_video(job("rf-bad", voice_id="no-such-voice"))
    state = await wait(provider, job_id)
    assert state.status == JobStatus.FAILED
    assert state.error is not None and "no-such-voice" in state.error


async def test_remote_only_asset_fails_with_reason(provider: LocalProvider) -> None:
    hosted = Asset("intro", "ab" * 32, 10, "audio/mpeg", url="https://cdn.example.com/a.mp3")
    job_id = await provider.submit_video(job("rf-url", voice=VoiceRequest(audio=hosted)))
    state = await provider.job_status(job_id)
    assert state.status == JobStatus.FAILED
    assert state.error is not None and "local file" in state.error


async def test_lost_render_is_restarted(tmp_path: Path) -> None:
    work = ProviderContext(work_dir=tmp_path / ".reelform")
    first = LocalProvider({"workers": "1"}, work)
    await first.submit_video(job("rf-lost", script="Short."))
    assert (await wait(first, "rf-lost")).status == JobStatus.COMPLETED
    await first.aclose()
    # As if the process had died before the video was written.
    (first.folder / "rf-lost.mp4").unlink()
    (first.folder / "rf-lost.result.json").unlink()

    second = LocalProvider({"workers": "1"}, work)
    try:
        assert await second.find_job("rf-lost") == "rf-lost"
        state = await second.job_status("rf-lost")
        assert state.status == JobStatus.RUNNING
        state = await wait(second, "rf-lost")
        assert state.status == JobStatus.COMPLETED, state.error
        assert url_path(state.video_url).exists()
    finally:
        await second.aclose()


async def test_a_video_without_its_result_file_still_reports_its_duration(
    provider: LocalProvider,
) -> None:
    await provider.submit_video(job("rf-noresult", script="Short one."))
    first = await wait(provider, "rf-noresult")
    (provider.folder / "rf-noresult.result.json").unlink()
    state = await provider.job_status("rf-noresult")
    assert state.status == JobStatus.COMPLETED
    assert state.duration == pytest.approx(first.duration, abs=0.1)


async def test_unknown_job_fails(provider: LocalProvider) -> None:
    state = await provider.job_status("rf-never")
    assert state.status == JobStatus.FAILED and "rf-never" in (state.error or "")


async def test_photo_avatar_video_shows_the_photo(
    provider: LocalProvider, png_file: Path, wav_file: Path, probe_mp4: Callable[[Path], Any]
) -> None:
    image = Asset("portrait", "cd" * 32, png_file.stat().st_size, "image/png", path=png_file)
    assert (await provider.upload_asset(image)).startswith("file://")
    made = await provider.create_photo_avatar(
        PhotoAvatarRequest(key="pa-1", name="founder", image=image, voice_id="en")
    )
    assert made.status == JobStatus.COMPLETED and made.avatar_id is not None
    again = await provider.photo_avatar_status(made.motion_id)
    assert again.avatar_id == made.avatar_id
    photos = await provider.list_avatars(kind="photo")
    assert [a.id for a in photos] == [str(made.avatar_id)]

    audio = Asset("intro", "ef" * 32, wav_file.stat().st_size, "audio/wav", path=wav_file)
    voice = VoiceRequest(audio=audio)
    job_id = await provider.submit_video(
        job("rf-photo", voice=voice, avatar=AvatarRef(made.avatar_id, "photo"))
    )
    state = await wait(provider, job_id)
    assert state.status == JobStatus.COMPLETED, state.error
    frame = probe_mp4(url_path(state.video_url)).frames[0]
    corner = frame[:40, :40].reshape(-1, 3).mean(axis=0)
    assert corner[0] > 150 and corner[1] < 90  # the photo's red background


async def test_missing_photo_avatar_fails(provider: LocalProvider) -> None:
    job_id = await provider.submit_video(job("rf-nophoto", avatar=AvatarRef(999, "photo")))
    state = await provider.job_status(job_id)
    assert state.status == JobStatus.FAILED and "999" in (state.error or "")


async def test_catalogs(provider: LocalProvider) -> None:
    avatars = await provider.list_avatars()
    assert len(avatars) >= 4 and {a.kind for a in avatars} == {"public"}
    assert [a.id for a in avatars][:4] == ["1", "2", "3", "4"]
    voices = await provider.list_voices()
    ids = {v.voice_id for v in voices}
    assert {"en", "en-us", "de", "fr"} <= ids
    german = await provider.list_voices(language="de")
    assert [v.voice_id for v in german] == ["de"]
    assert {"en", "en-us"} <= {v.voice_id for v in await provider.list_voices(language="en")}


async def test_no_webhooks(provider: LocalProvider) -> None:
    with pytest.raises(WebhookRejected):
        provider.verify_webhook({}, b"{}")


async def test_bad_settings_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(RejectedError):
        LocalProvider({"workers": "many"}, ProviderContext(work_dir=tmp_path))


async def test_render_survives_a_killed_worker(provider: LocalProvider) -> None:
    script = " ".join(["This sentence keeps the worker busy for a little while."] * 6)
    job_id = await provider.submit_video(job("rf-killed", script=script))
    pool = provider._pool
    assert pool is not None
    await anyio.sleep(0.5)  # let a worker start on it
    workers = list(pool._processes.values())  # the pool's own processes, started by us
    assert workers
    for process in workers:
        os.kill(process.pid, signal.SIGKILL)
    state = await wait(provider, job_id, timeout=120)
    assert state.status == JobStatus.COMPLETED, state.error
    assert provider._restarts["rf-killed"] == 1  # finished by the restart, not the first try
    assert url_path(state.video_url).exists()
    assert not [f for f in provider.folder.iterdir() if f.name.endswith(".tmp")]


async def test_submitting_a_finished_key_again_does_not_render_again(
    provider: LocalProvider,
) -> None:
    await provider.submit_video(job("rf-twice", script="Once."))
    first = await wait(provider, "rf-twice")
    mtime = url_path(first.video_url).stat().st_mtime_ns
    assert await provider.submit_video(job("rf-twice", script="Once.")) == "rf-twice"
    second = await provider.job_status("rf-twice")
    assert second.status == JobStatus.COMPLETED
    assert url_path(second.video_url).stat().st_mtime_ns == mtime


async def test_custom_avatar_ids_are_drawn(provider: LocalProvider) -> None:
    custom = job("rf-custom", script="Hi.", avatar=AvatarRef(12, "custom"))
    job_id = await provider.submit_video(custom)
    state = await wait(provider, job_id)
    assert state.status == JobStatus.COMPLETED, state.error
