"""The schema of a spec: unknown keys (with suggestions), types, coercion, rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from reelform.speclang.expand import load_spec
from reelform.speclang.model import PhotoAvatarSpec

HEAD = "version: 1\n"
VIDEO = "videos:\n  - {name: a, voice: {script: hi}}\n"


def problems(tree, check, text: str) -> list[str]:
    tree.spec(text)
    return check(Path("spec.yaml"))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (HEAD + "nmae: x\n" + VIDEO, "spec.yaml:2:1: unknown key 'nmae'; did you mean 'name'?"),
        (
            HEAD + "defaults: {captons: true}\n" + VIDEO,
            "spec.yaml:2:12: unknown key 'captons'; did you mean 'captions'?",
        ),
        (
            HEAD + "videos:\n  - {name: a, voice: {script: hi}, titel: T}\n",
            "spec.yaml:3:36: unknown key 'titel'; did you mean 'title'?",
        ),
        (
            HEAD + "videos:\n  - {name: a, voice: {script: hi, voiceid: v}}\n",
            "spec.yaml:3:35: unknown key 'voiceid'; did you mean 'voice_id'?",
        ),
        (
            HEAD + "videos:\n  - {name: a, voice: {script: hi}, avatar: {id: 1, tpye: custom}}\n",
            "spec.yaml:3:52: unknown key 'tpye'; did you mean 'type'?",
        ),
        (
            HEAD + "providers: {jogg: {api_verison: v1}}\n" + VIDEO,
            "spec.yaml:2:20: unknown key 'api_verison'; did you mean 'api_version'?",
        ),
        (
            HEAD + "providers: {jog: {}}\n" + VIDEO,
            "spec.yaml:2:13: unknown key 'jog'; did you mean 'jogg'?",
        ),
        (
            HEAD + "assets: {a: {pth: x.png}}\n" + VIDEO,
            "spec.yaml:2:14: unknown key 'pth'; did you mean 'path'?",
        ),
        (
            HEAD + "assets: {a: {path: x.png, urll: y}}\n" + VIDEO,
            "spec.yaml:2:27: unknown key 'urll'; did you mean 'url'?",
        ),
        (
            HEAD + "avatars: {me: {image: a, voice_id: v, modle: '2.0'}}\n" + VIDEO,
            "spec.yaml:2:39: unknown key 'modle'; did you mean 'model'?",
        ),
        (
            HEAD + "zzz: 1\n" + VIDEO,
            "spec.yaml:2:1: unknown key 'zzz' (allowed: assets, avatars, data, defaults, name, "
            "output, provider, providers, vars, version, videos)",
        ),
        (
            HEAD + "providers: {mirako: {key: x}}\n" + VIDEO,
            "spec.yaml:2:22: unknown key 'key' (no keys are allowed here)",
        ),
    ],
)
def test_unknown_keys_at_every_level(tree, check, text: str, expected: str) -> None:
    assert expected in problems(tree, check, text)


def test_missing_version_and_videos(tree, check) -> None:
    assert problems(tree, check, "name: x\n") == [
        "spec.yaml:1:1: missing required key 'version'",
        "spec.yaml:1:1: missing required key 'videos'",
    ]


def test_version_2_and_empty_videos(tree, check) -> None:
    assert problems(tree, check, "version: 2\nvideos: []\n") == [
        "spec.yaml:1:10: unsupported spec version 2: this reelform reads version 1 "
        "(upgrade reelform for newer versions)",
        "spec.yaml:2:9: `videos` is empty: declare at least one video",
    ]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "aspect: wide",
            "spec.yaml:3:44: Input should be 'portrait', 'landscape' or 'square', got 'wide'",
        ),
        ("screen_style: 4", "spec.yaml:3:50: Input should be 1, 2 or 3, got 4"),
        (
            "captions: maybe",
            "spec.yaml:3:46: Input should be a valid boolean, unable to interpret "
            "input, got 'maybe'",
        ),
        (
            "provider: heygen",
            "spec.yaml:3:46: Input should be 'local', 'jogg' or 'mirako', got 'heygen'",
        ),
        (
            "avatar: {id: abc}",
            "spec.yaml:3:49: Input should be a valid integer, unable to parse "
            "string as an integer, got 'abc'",
        ),
    ],
)
def test_wrong_types_and_enums(tree, check, line: str, expected: str) -> None:
    text = HEAD + "videos:\n  - {name: a, voice: {script: hi}, " + line + "}\n"
    assert problems(tree, check, text) == [expected]


def test_wrong_type_of_a_head_field(tree, check) -> None:
    assert problems(tree, check, HEAD + "vars: [1, 2]\n" + VIDEO) == [
        "spec.yaml:2:7: Input should be a valid dictionary"
    ]


def test_rendered_strings_are_coerced(tree) -> None:
    tree.spec("""
        version: 1
        vars: {cap: "true", id: "81", style: "2"}
        videos:
          - name: a
            voice: {script: hi}
            captions: "{{ vars.cap }}"
            avatar: {id: "{{ vars.id }}"}
            screen_style: "{{ vars.style }}"
    """)
    video = load_spec(Path("spec.yaml")).videos[0].video
    assert video.captions is True
    assert video.avatar is not None and video.avatar.id == 81
    assert video.screen_style == 2


@pytest.mark.parametrize(
    ("voice", "message"),
    [
        ("{script: hi, audio: a}", "give exactly one of `script` and `audio`"),
        ("{voice_id: v}", "give exactly one of `script` and `audio`"),
        ("{type: audio, script: hi}", "`type: audio` but the voice has `script`"),
        ("{type: script, audio: a}", "`type: script` but the voice has `audio`"),
        ("{type: speech, script: hi}", "Input should be 'script' or 'audio', got 'speech'"),
    ],
)
def test_voice_script_xor_audio_and_type(tree, check, voice: str, message: str) -> None:
    text = HEAD + "assets: {a: a.wav}\nvideos:\n  - name: v\n    voice: " + voice + "\n"
    tree.write("a.wav", b"RIFF")
    assert any(message in line for line in problems(tree, check, text)), problems(tree, check, text)


def test_voice_type_is_inferred(tree, media) -> None:
    tree.write("a.wav", media["wav"](1))
    tree.spec(
        HEAD + "assets: {a: a.wav}\nvideos:\n  - {name: s, voice: {script: hi}}\n"
        "  - {name: t, voice: {audio: a}}\n"
    )
    videos = load_spec(Path("spec.yaml")).videos
    assert [v.video.voice.kind for v in videos] == ["script", "audio"]


@pytest.mark.parametrize(
    ("avatar", "message"),
    [
        ("{id: 1, photo: me}", "spec.yaml:4:13: give exactly one of `id` and `photo`"),
        ("{type: custom}", "spec.yaml:4:13: give exactly one of `id` and `photo`"),
        (
            "{photo: me, type: custom}",
            "spec.yaml:4:13: `type` applies to `id` avatars, not to `photo`",
        ),
    ],
)
def test_avatar_id_xor_photo(tree, check, avatar: str, message: str) -> None:
    text = HEAD + "videos:\n  - name: v\n    avatar: " + avatar + "\n    voice: {script: x}\n"
    assert message in problems(tree, check, text)


@pytest.mark.parametrize("name", ["a", "A1", "x.y_z-1", "9" * 128])
def test_valid_names(tree, check, name: str) -> None:
    assert (
        problems(tree, check, HEAD + f"videos:\n  - {{name: '{name}', voice: {{script: x}}}}\n")
        == []
    )


@pytest.mark.parametrize("name", ["-a", ".a", "a b", "a/b", "a\\\\b", "é", "9" * 129, ""])
def test_invalid_names(tree, check, name: str) -> None:
    lines = problems(tree, check, HEAD + f'videos:\n  - {{name: "{name}", voice: {{script: x}}}}\n')
    assert len(lines) == 1 and "invalid name" in lines[0], lines


def test_names_must_be_unique_after_expansion(tree, check) -> None:
    tree.write("data/rows.csv", "id\n1\n2\n1\n")
    text = (
        HEAD + "data: {rows: data/rows.csv}\nvideos:\n"
        "  - {name: 'v-{{ row.id }}', for_each: rows, voice: {script: x}}\n"
        "  - {name: v-2, voice: {script: x}}\n"
    )
    assert problems(tree, check, text) == [
        "spec.yaml:4:12: duplicate video name 'v-1' (row data/rows.csv:4); already made by "
        "row data/rows.csv:2",
        "spec.yaml:5:12: duplicate video name 'v-2'; already made by row data/rows.csv:3",
    ]


def test_spec_name_from_a_bad_file_name(tree, check) -> None:
    tree.write("my spec.yaml", HEAD + VIDEO)
    assert check(Path("my spec.yaml")) == [
        "my spec.yaml:1:1: the file name 'my spec' is not a valid spec name; set `name:`"
    ]


@pytest.mark.parametrize(
    ("written", "model"), [("2.0", "2.0"), ("'2.0-Pro'", "2.0-Pro"), ("1", "1.0"), ("3.0", "3.0")]
)
def test_photo_avatar_model_from_a_yaml_number(tree, written: str, model: str) -> None:
    tree.write("p.png", b"x")
    tree.spec(
        HEAD + "assets: {p: p.png}\n"
        f"avatars: {{me: {{image: p, voice_id: v, model: {written}}}}}\n" + VIDEO
    )
    assert load_spec(Path("spec.yaml")).head.avatars["me"].model == model


def test_photo_avatar_model_unknown(tree, check) -> None:
    tree.write("p.png", b"x")
    lines = problems(
        tree,
        check,
        HEAD + "assets: {p: p.png}\navatars: {me: {image: p, voice_id: v, model: 2.5}}\n" + VIDEO,
    )
    assert lines == ["spec.yaml:3:46: Input should be '1.0', '2.0', '2.0-Pro' or '3.0', got '2.5'"]


def test_photo_avatar_model_default() -> None:
    assert PhotoAvatarSpec(image="p", voice_id="v").model == "2.0"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("assets: {intro: 5}\n", "spec.yaml:2:17: an asset is a path, {path: FILE} or {url: URL}"),
        ("assets: {intro: {}}\n", "spec.yaml:2:17: an asset is a path, {path: FILE} or {url: URL}"),
        (
            "data: {rows: 5}\n",
            "spec.yaml:2:14: a data source is a file path or a list of rows (mappings)",
        ),
        (
            "data: {rows: [1, 2]}\n",
            "spec.yaml:2:14: a data source is a file path or a list of rows (mappings)",
        ),
    ],
)
def test_a_value_that_fits_no_member_of_a_union_is_one_problem(
    tree, check, text: str, expected: str
) -> None:
    assert problems(tree, check, HEAD + text + VIDEO) == [expected]


def test_names_with_capitals_keep_their_location(tree, check) -> None:
    text = HEAD + "assets: {Intro: 5}\navatars:\n  Founder: {image: [x], voice_id: v}\n" + VIDEO
    assert problems(tree, check, text) == [
        "spec.yaml:2:17: an asset is a path, {path: FILE} or {url: URL}",
        "spec.yaml:4:20: Input should be a valid string",
    ]


def test_unknown_key_does_not_hide_other_head_problems(tree, check) -> None:
    text = HEAD + "providers: {jogg: {api_verison: v1}}\ndata: {r: data/r.tsv}\n" + VIDEO
    assert problems(tree, check, text) == [
        "spec.yaml:2:20: unknown key 'api_verison'; did you mean 'api_version'?",
        "spec.yaml:3:11: data source 'r': unsupported file type '.tsv'; use one of .csv, "
        ".json, .jsonl, .yaml, .yml",
    ]
