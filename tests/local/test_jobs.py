from __future__ import annotations

from pathlib import Path

import pytest

from reelform.errors import RenderError
from reelform.providers.base import Asset, AvatarRef, VideoJob, VoiceRequest
from reelform.providers.local.jobs import render_request, request_from_json, request_to_json


def job(**kw: object) -> VideoJob:
    base: dict[str, object] = {"key": "rf-1", "name": "one", "voice": VoiceRequest(script="Hi.")}
    base.update(kw)
    return VideoJob(**base)  # type: ignore[arg-type]


def test_preview_and_encoder_settings_come_from_provider_and_job() -> None:
    req = render_request(job(settings={"preview": "true", "crf": "30"}), {"crf": "20"}, None)
    assert req.preview and req.crf == 30 and req.preset == "veryfast"
    assert not render_request(job(), {}, None).preview


def test_file_uri_from_upload_is_used_for_an_asset_without_path(tmp_path: Path) -> None:
    wav = tmp_path / "a b.wav"
    audio = Asset("intro", "ab" * 32, 1, "audio/wav")
    req = render_request(
        job(voice=VoiceRequest(audio=audio), asset_urls={audio.sha256: wav.as_uri()}), {}, None
    )
    assert req.audio_path == wav and req.script is None


def test_request_round_trips_through_json(tmp_path: Path) -> None:
    req = render_request(job(avatar=AvatarRef(3), captions=True, title="T"), {}, tmp_path / "p.png")
    assert request_from_json(request_to_json(req)) == req
    assert req.avatar_id == 3 and req.image_path == tmp_path / "p.png" and req.title == "T"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"aspect": "vertical"}, "aspect"),
        ({"screen_style": 7}, "screen_style"),
        ({"voice": VoiceRequest(script="  ")}, "neither"),
        ({"settings": {"crf": "high"}}, "crf"),
    ],
)
def test_unrenderable_jobs_say_why(changes: dict[str, object], message: str) -> None:
    with pytest.raises(RenderError, match=message):
        render_request(job(**changes), {}, None)
