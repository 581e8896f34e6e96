"""--preview rewrites every video for the local renderer: pure, checked here."""

from __future__ import annotations

from pathlib import Path

from reelform.api import load
from reelform.speclang.model import Video
from reelform.watch.preview import local_preview, local_video, local_voice, to_render

ESPEAK = frozenset({"en", "en-us", "de"})


def video(**fields: object) -> Video:
    return Video.model_validate(
        {"name": "v", "voice": {"script": "Hi", "voice_id": "en"}, **fields}
    )


def test_provider_avatars_map_onto_the_local_ones_modulo_their_count() -> None:
    mapped = local_video(video(avatar={"id": 81}), 10, ESPEAK).avatar
    assert mapped is not None and mapped.id == 1
    custom = local_video(video(avatar={"id": 12, "type": "custom"}), 10, ESPEAK).avatar
    assert custom is not None and (custom.id, custom.type) == (2, "public")
    photo = local_video(video(avatar={"photo": "founder"}), 10, ESPEAK).avatar
    assert photo is not None and photo.photo == "founder"


def test_voices_eSpeak_cannot_speak_become_en() -> None:
    assert local_voice("de", ESPEAK) == "de"
    assert local_voice("en-US-JennyNeural", ESPEAK) == "en-US-JennyNeural"  # falls back itself
    assert local_voice("12345", ESPEAK) == "en"
    assert local_voice(None, ESPEAK) is None  # audio: used as it is


def test_the_preview_spec_is_local_half_size_with_its_own_lock(tmp_path: Path) -> None:
    spec_path = tmp_path / "specs" / "promo.yaml"
    spec_path.parent.mkdir()
    spec_path.write_text(
        "version: 1\nprovider: jogg\nvideos:\n  - name: hi\n"
        "    avatar: {id: 81}\n    voice: {script: Hi, voice_id: '42'}\n"
    )
    spec = load(spec_path)
    preview = local_preview(spec, 10, ESPEAK)
    assert [(v.provider, v.video.provider) for v in preview.videos] == [("local", "local")]
    assert preview.videos[0].video.voice.voice_id == "en"
    assert preview.settings["local"] == {"preview": "true"}
    assert preview.lock_path == spec_path.parent / "preview" / "promo.lock"
    assert preview.output_dir == spec_path.parent / "preview" / "promo"
    assert spec.videos[0].provider == "jogg" and spec.lock_path.name == "promo.lock"


def test_only_what_the_plan_renders_is_previewed(tmp_path: Path) -> None:
    from reelform.api import plan

    spec_path = tmp_path / "one.yaml"
    spec_path.write_text(
        "version: 1\nvideos:\n  - name: hi\n    avatar: {id: 1}\n"
        "    voice: {script: Hi, voice_id: en}\n"
    )
    [planned] = plan(spec_path)
    assert to_render(planned) == {"hi"}
