"""Provider fit, checked on real files before anything is uploaded or paid for."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelform.speclang.assets import probe, sniff


def fit(tree, check, videos: str, assets: str = "", head: str = "") -> list[str]:
    tree.spec(
        f"version: 1\n{head}assets: {{{assets}}}\n"
        "avatars: {me: {image: face, voice_id: v}}\nvideos:\n" + videos
    )
    return check(Path("spec.yaml"))


@pytest.fixture
def files(tree, media):  # type: ignore[no-untyped-def]
    tree.write("a/face.png", media["png"](800, 800))
    tree.write("a/small.png", media["png"](400, 600))
    tree.write("a/huge.jpg", media["jpeg"](2000, 1000))
    tree.write("a/tall.png", media["png"](1080, 1920))
    tree.write("a/edge.png", media["png"](1920, 1080))
    tree.write("a/anim.gif", media["gif"](600, 600))
    tree.write("a/really-png.jpg", media["png"](600, 600))
    tree.write("a/hi.wav", media["wav"](2))
    tree.write("a/minute.wav", media["wav"](61))
    tree.write("a/notes.txt", b"not audio at all")
    return tree


ASSETS = (
    "face: a/face.png, small: a/small.png, huge: a/huge.jpg, tall: a/tall.png, "
    "edge: a/edge.png, gif: a/anim.gif, pngjpg: a/really-png.jpg, hi: a/hi.wav, "
    "minute: a/minute.wav, txt: a/notes.txt"
)


def test_a_fitting_spec_is_valid(files, check) -> None:
    assert (
        fit(
            files,
            check,
            """
          - {name: m, provider: mirako, image: edge, voice: {audio: hi}}
          - {name: t, provider: mirako, image: tall, voice: {audio: hi}}
          - {name: m2, provider: mirako, image: pngjpg, voice: {script: x, voice_id: p}}
          - {name: j, provider: jogg, avatar: {photo: me}, voice: {audio: hi, voice_id: v}}
          - {name: l, avatar: {id: 1}, voice: {script: x}}
    """.strip("\n").replace("          ", "  "),
            ASSETS,
        )
        == []
    )


@pytest.mark.parametrize(("image", "size"), [("small", "400x600"), ("huge", "2000x1000")])
def test_mirako_image_dimensions(files, check, image: str, size: str) -> None:
    assert fit(
        files,
        check,
        f"  - {{name: m, provider: mirako, image: {image}, voice: {{audio: hi}}}}\n",
        ASSETS,
    ) == [
        f"spec.yaml:5:40: mirako needs an image between 512x512 and 1920x1080; {image!r} is {size}"
    ]


def test_mirako_formats(files, check) -> None:
    assert fit(
        files,
        check,
        "  - {name: m, provider: mirako, image: gif, voice: {audio: txt}}\n"
        "  - {name: n, provider: mirako, image: face, voice: {audio: face}}\n",
        ASSETS,
    ) == [
        "spec.yaml:5:40: mirako needs image as jpeg/png; asset 'gif' is gif",
        "spec.yaml:5:60: mirako needs audio as wav/mp3; asset 'txt' is an unknown format",
        "spec.yaml:6:61: mirako needs audio as wav/mp3; asset 'face' is png",
    ]


def test_mirako_audio_length(files, check) -> None:
    assert fit(
        files,
        check,
        "  - {name: m, provider: mirako, image: face, voice: {audio: minute}}\n",
        ASSETS,
    ) == ["spec.yaml:5:61: asset 'minute' is 61.0 s long; mirako takes audio up to 60 s"]


def test_mirako_needs_image_voice_id_and_no_avatar(files, check) -> None:
    assert fit(
        files,
        check,
        "  - {name: m, provider: mirako, voice: {script: hi}, avatar: {id: 1}}\n",
        ASSETS,
    ) == [
        "spec.yaml:5:5: mirako needs `image` (a JPG or PNG asset to animate)",
        "spec.yaml:5:40: mirako needs `voice.voice_id` (a voice profile) to speak a script",
        "spec.yaml:5:62: mirako does not take `avatar`; it animates `image`",
    ]


def test_jogg_needs_avatar_and_voice_id_and_no_image(files, check) -> None:
    assert fit(
        files, check, "  - {name: j, provider: jogg, image: face, voice: {script: hi}}\n", ASSETS
    ) == [
        "spec.yaml:5:5: jogg needs `avatar` ({id: N} or {photo: NAME})",
        "spec.yaml:5:38: jogg does not take `image`; make a photo avatar under `avatars:` and "
        "use `avatar: {photo: NAME}`",
        "spec.yaml:5:51: jogg needs `voice.voice_id` (even for audio)",
    ]


def test_jogg_audio_over_20_mb(tree, check, media) -> None:
    tree.write("big.wav", media["wav"](240, rate=44100, width=2))  # 21 MB, 4 minutes
    tree.write("face.png", media["png"](600, 600))
    assert fit(
        tree,
        check,
        "  - {name: j, provider: jogg, avatar: {id: 1}, voice: {audio: big, voice_id: v}}\n",
        "big: big.wav, face: face.png",
    ) == ["spec.yaml:5:63: asset 'big' is 20.2 MB; jogg takes audio up to 20 MB"]


def test_jogg_audio_over_10_minutes(tree, check, media) -> None:
    tree.write("long.wav", media["wav"](601))  # 8 kHz 8-bit mono: 4.8 MB
    tree.write("face.png", media["png"](600, 600))
    assert fit(
        tree,
        check,
        "  - {name: j, provider: jogg, avatar: {id: 1}, voice: {audio: long, voice_id: v}}\n",
        "long: long.wav, face: face.png",
    ) == ["spec.yaml:5:63: asset 'long' is 601.0 s long; jogg takes audio up to 600 s"]


def test_jogg_v1_screen_style_3_needs_captions_off(files, check) -> None:
    head = (
        "provider: jogg\nproviders: {jogg: {api_version: v1}}\n"
        "defaults: {avatar: {id: 1}, voice: {voice_id: v}, captions: true}\n"
    )
    assert fit(
        files,
        check,
        "  - {name: a, voice: {script: x}, screen_style: 3}\n"
        "  - {name: b, voice: {script: x}, screen_style: 3, captions: no}\n"
        "  - {name: c, voice: {script: x}, screen_style: 2}\n",
        ASSETS,
        head,
    ) == ["spec.yaml:4:61: jogg v1 screen_style 3 (transparent WebM) needs `captions: false`"]


def test_jogg_v2_allows_screen_style_3_with_captions(files, check) -> None:
    head = "provider: jogg\ndefaults: {avatar: {id: 1}, voice: {voice_id: v}}\n"
    assert (
        fit(
            files,
            check,
            "  - {name: a, voice: {script: x}, screen_style: 3, captions: true}\n",
            ASSETS,
            head,
        )
        == []
    )


def test_unknown_names_with_suggestions(files, check) -> None:
    assert fit(
        files,
        check,
        "  - {name: j, provider: jogg, avatar: {photo: mee}, "
        "voice: {audio: hii, voice_id: v}}\n"
        "  - {name: m, provider: mirako, image: fase, voice: {audio: hi}}\n",
        ASSETS,
    ) == [
        "spec.yaml:5:47: unknown photo avatar 'mee'; did you mean 'me'?",
        "spec.yaml:5:68: unknown asset 'hii'; did you mean 'hi'?",
        "spec.yaml:6:40: unknown asset 'fase'; did you mean 'face'?",
    ]


def test_missing_asset_file_and_fit_problems_in_one_run(files, check) -> None:
    assert fit(
        files,
        check,
        "  - {name: m, provider: mirako, image: small, voice: {audio: gone}}\n",
        ASSETS + ", gone: a/gone.wav",
    ) == [
        "spec.yaml:2:205: asset 'gone': file 'a/gone.wav' not found",
        "spec.yaml:5:40: mirako needs an image between 512x512 and 1920x1080; 'small' is 400x600",
    ]


def test_photo_avatar_with_an_unknown_or_unfit_image(tree, check, media) -> None:
    tree.write("t.txt", b"text")
    tree.spec(
        "version: 1\nassets: {t: t.txt}\n"
        "avatars: {a: {image: tt, voice_id: v}, b: {image: t, voice_id: v}}\n"
        "videos:\n  - {name: x, voice: {script: x}}\n"
    )
    assert check(Path("spec.yaml")) == [
        "spec.yaml:3:22: unknown asset 'tt'; did you mean 't'?",
        "spec.yaml:3:51: jogg needs image as jpeg/png/webp/gif; asset 't' is an unknown format",
    ]


def test_formats_are_sniffed_from_content(tmp_path: Path, media) -> None:
    path = tmp_path / "photo.jpg"
    path.write_bytes(media["png"](640, 480))
    facts = probe(path)
    assert (facts.format, facts.width, facts.height) == ("png", 640, 480)
    assert facts.content_type == "image/png"
    wav = tmp_path / "x.mp3"
    wav.write_bytes(media["wav"](1.5))
    assert (probe(wav).format, probe(wav).duration) == ("wav", 1.5)


@pytest.mark.parametrize(
    ("head", "fmt"),
    [
        (b"\x89PNG\r\n\x1a\n", "png"),
        (b"\xff\xd8\xff\xe0", "jpeg"),
        (b"GIF89a", "gif"),
        (b"RIFF\0\0\0\0WEBPVP8 ", "webp"),
        (b"RIFF\0\0\0\0WAVEfmt ", "wav"),
        (b"ID3\x04", "mp3"),
        (b"\xff\xfb\x90\x00", "mp3"),
        (b"\0\0\0\x20ftypM4A ", "m4a"),
        (b"\0\0\0\x20ftypisom", "mp4"),
        (b"\0\0\0\x14ftypqt  ", "mov"),
        (b"\x1a\x45\xdf\xa3", "webm"),
        (b"hello", None),
    ],
)
def test_sniff(head: bytes, fmt: str | None) -> None:
    assert sniff(head) == fmt


def test_probe_reuses_cached_facts_only_when_size_and_mtime_match(tmp_path: Path, media) -> None:
    path = tmp_path / "a.wav"
    path.write_bytes(media["wav"](1))
    facts = probe(path)
    assert probe(path, facts) is facts
    path.write_bytes(media["wav"](1, tone=5))  # same size, new content and mtime
    import os

    os.utime(path, ns=(facts.mtime_ns + 10**9, facts.mtime_ns + 10**9))
    again = probe(path, facts)
    assert again.sha256 != facts.sha256


def test_mp3_duration_is_read_from_the_file(tree, check, media) -> None:
    tree.write("face.png", media["png"](600, 600))
    tree.write("long.mp3", media["mp3"](61))
    tree.write("short.mp3", media["mp3"](5))
    facts = probe(tree.root / "short.mp3")
    assert facts.format == "mp3" and facts.duration is not None
    assert abs(facts.duration - 5) < 0.2
    assert fit(
        tree,
        check,
        "  - {name: m, provider: mirako, image: face, "
        "voice: {audio: long}}\n"
        "  - {name: n, provider: mirako, image: face, "
        "voice: {audio: short}}\n",
        "face: face.png, long: long.mp3, short: short.mp3",
    ) == ["spec.yaml:5:61: asset 'long' is 61.0 s long; mirako takes audio up to 60 s"]


def test_mirako_fields_it_does_not_take_on_the_video(files, check) -> None:
    head = "defaults: {aspect: landscape, captions: true}\n"
    assert fit(
        files,
        check,
        "  - {name: m, provider: mirako, image: face, voice: {audio: hi}}\n"
        "  - {name: n, provider: mirako, image: face, voice: {audio: hi}, "
        "aspect: square, captions: true}\n",
        ASSETS,
        head,
    ) == [
        "spec.yaml:7:74: mirako does not take `aspect`: its video has the image's size and no "
        "captions",
        "spec.yaml:7:92: mirako does not take `captions`: its video has the image's size and no "
        "captions",
    ]
