"""Fingerprints: what a video is, not how the spec spells it (hypothesis properties)."""

from __future__ import annotations

import copy
import json
import random
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reelform.plan.fingerprint import (
    Request,
    changed_fields,
    fingerprint_of,
    legacy_fingerprint,
    requests_for,
    same_render,
)
from reelform.project import prepare

FAST = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

ROWS = [{"id": str(i), "first": f"name{i}", "style": str(1 + i % 2)} for i in range(6)]


def wav_bytes(tone: int = 0) -> bytes:
    import io
    import wave

    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(8000)
        handle.writeframes(bytes([128 + tone]) * 8000)
    return buffer.getvalue()


def png_bytes() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (600, 600)).save(buffer, format="PNG")
    return buffer.getvalue()


def base_spec() -> dict[str, Any]:
    return {
        "version": 1,
        "provider": "jogg",
        "providers": {"jogg": {"api_version": "v2"}},
        "vars": {"company": "Acme", "hello": "Hi"},
        "assets": {
            "intro": "assets/intro.wav",
            "outro": {"path": "assets/outro.wav"},
            "face": "assets/face.png",
        },
        "data": {"people": "data/people.csv"},
        "avatars": {"founder": {"image": "face", "voice_id": "v-f", "model": "2.0"}},
        "defaults": {
            "avatar": {"id": 81},
            "voice": {"voice_id": "v1"},
            "aspect": "portrait",
            "captions": True,
        },
        "videos": [
            {
                "name": "hi-{{ row.id }}",
                "for_each": "people",
                "voice": {"script": "{{ vars.hello }} {{ row.first }} from {{ vars.company }}"},
                "screen_style": "{{ row.style }}",
                "title": "For {{ row.first }}",
            },
            {"name": "intro", "voice": {"audio": "intro"}, "avatar": {"id": 12, "type": "custom"}},
            {"name": "outro", "voice": {"audio": "outro"}, "aspect": "square"},
            {"name": "founder", "avatar": {"photo": "founder"}, "voice": {"script": "Hello."}},
            {"name": "local-one", "provider": "local", "voice": {"audio": "intro"}},
        ],
    }


@contextmanager
def project(
    spec: dict[str, Any],
    rows: list[dict[str, str]] | None = None,
    files: dict[str, bytes] | None = None,
) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        contents = {
            "assets/intro.wav": wav_bytes(1),
            "assets/outro.wav": wav_bytes(2),
            "assets/face.png": png_bytes(),
            **(files or {}),
        }
        for name, data in contents.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        table = ROWS if rows is None else rows
        (root / "data").mkdir(exist_ok=True)
        (root / "data/people.csv").write_text(
            "id,first,style\n" + "".join(f"{r['id']},{r['first']},{r['style']}\n" for r in table)
        )
        (root / "spec.yaml").write_text(
            json.dumps(spec, indent=1, ensure_ascii=False), encoding="utf-8"
        )  # JSON is YAML
        yield root / "spec.yaml"


def requests(spec: dict[str, Any], **kwargs: Any) -> dict[str, Request]:
    with project(spec, **kwargs) as path:
        prepared = prepare(path)
        return {r.name: r for r in requests_for(prepared.spec, prepared.facts)}


def fingerprints(spec: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    return {name: r.fingerprint for name, r in requests(spec, **kwargs).items()}


BASE = fingerprints(base_spec())


def shuffled(value: Any, rnd: random.Random) -> Any:
    """The same document with every mapping's keys in another order (lists untouched)."""
    if isinstance(value, dict):
        keys = list(value)
        rnd.shuffle(keys)
        return {k: shuffled(value[k], rnd) for k in keys}
    if isinstance(value, list):
        return [shuffled(v, rnd) for v in value]
    return value


@FAST
@given(st.randoms(use_true_random=False))
def test_stable_under_key_order(rnd: random.Random) -> None:
    assert fingerprints(shuffled(base_spec(), rnd)) == BASE


@FAST
@given(st.permutations(ROWS))
def test_stable_under_csv_row_order(rows: list[dict[str, str]]) -> None:
    assert fingerprints(base_spec(), rows=rows) == BASE


@FAST
@given(
    st.from_regex(r"[a-z][a-z0-9_-]{0,12}", fullmatch=True),
    st.sampled_from(["", "sub/", "deep/er/"]),
)
def test_stable_under_renaming_asset_files(stem: str, folder: str) -> None:
    spec = base_spec()
    spec["assets"]["intro"] = {"path": f"{folder}{stem}.wav"}
    spec["assets"]["face"] = f"{folder}{stem}.png"
    files = {f"{folder}{stem}.wav": wav_bytes(1), f"{folder}{stem}.png": png_bytes()}
    assert fingerprints(spec, files=files) == BASE


def test_stable_under_unrelated_edits() -> None:
    spec = base_spec()
    spec["vars"]["unused"] = "x"
    spec["data"]["other"] = [{"a": 1}]
    spec["assets"]["spare"] = "assets/face.png"
    assert fingerprints(spec) == BASE


def edit(path: str, value: Any) -> dict[str, Any]:
    spec = base_spec()
    *parents, last = path.split("/")
    node: Any = spec
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    node[int(last) if last.isdigit() else last] = value
    return spec


@pytest.mark.parametrize(
    ("path", "value", "video", "field"),
    [
        ("videos/0/voice/script", "Bye {{ row.first }}", "hi-1", "voice.script"),
        ("defaults/voice/voice_id", "v2", "hi-1", "voice.voice_id"),
        ("defaults/aspect", "landscape", "intro", "aspect"),
        ("videos/2/aspect", "portrait", "outro", "aspect"),
        ("videos/1/screen_style", 2, "intro", "screen_style"),
        ("defaults/captions", False, "intro", "captions"),
        ("defaults/avatar/id", 82, "outro", "avatar.id"),
        ("videos/1/avatar/type", "public", "intro", "avatar.type"),
        ("videos/4/provider", "jogg", "local-one", "provider"),
        ("providers/jogg/api_version", "v1", "intro", "settings.api_version"),
        ("avatars/founder/model", "2.0-Pro", "founder", "avatar.photo"),
        ("videos/2/voice", {"audio": "intro"}, "outro", "voice.audio"),
        ("videos/1/voice", {"script": "now a script"}, "intro", "voice.audio"),
    ],
)
def test_changed_by_every_request_field(path: str, value: Any, video: str, field: str) -> None:
    before = requests(base_spec())
    after = requests(edit(path, value))
    assert after[video].fingerprint != before[video].fingerprint
    assert field in changed_fields(before[video].inputs, after[video].inputs)


@FAST
@given(st.from_regex(r"[A-Za-z0-9 ,.!?'-]{1,40}", fullmatch=True).filter(lambda t: "{" not in t))
def test_a_jogg_title_is_a_label_a_local_title_is_not(title: str) -> None:
    """JoggAI's title only names the video (video_name); the local renderer draws it."""
    before = requests(base_spec())
    spec = edit("videos/0/title", title)
    spec["videos"][4]["title"] = title
    after = requests(spec)
    old_title = before["hi-2"].inputs["title"]
    assert after["hi-2"].fingerprint == before["hi-2"].fingerprint
    assert after["hi-2"].key == before["hi-2"].key
    assert after["hi-2"].inputs["title"] == title  # still recorded
    assert ("title" in changed_fields(before["hi-2"].inputs, after["hi-2"].inputs)) == (
        title != old_title
    )
    assert after["local-one"].fingerprint != before["local-one"].fingerprint


def test_a_jogg_video_without_a_title_keeps_its_fingerprint() -> None:
    """No label, nothing to leave out: the fingerprint is what it always was."""
    for request in requests(base_spec()).values():
        if "title" not in request.inputs or request.provider != "jogg":
            assert request.fingerprint == legacy_fingerprint(request.inputs)
        else:
            assert request.fingerprint != legacy_fingerprint(request.inputs)


_LEAF = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53), st.text(max_size=8))
_VALUE = st.recursive(
    _LEAF, lambda inner: st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=8
)
_INPUTS = st.dictionaries(
    st.sampled_from(
        ["provider", "avatar", "voice", "aspect", "captions", "screen_style", "settings", "title"]
    ),
    _VALUE,
    min_size=1,
)


def _paths(value: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    if isinstance(value, dict) and value:
        return [p for key, item in value.items() for p in _paths(item, (*prefix, key))]
    return [prefix]


def _set(value: dict[str, Any], path: tuple[str, ...], leaf: Any) -> dict[str, Any]:
    changed = copy.deepcopy(value)
    node = changed
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = leaf
    return changed


@settings(max_examples=200, deadline=None)
@given(_INPUTS, st.data())
def test_the_fingerprint_ignores_labels_and_nothing_else(
    inputs: dict[str, Any], data: st.DataObject
) -> None:
    labels = ("title",)
    path = data.draw(st.sampled_from(_paths(inputs)))
    old = _set(inputs, path, None) if path else inputs
    leaf = data.draw(_LEAF.filter(lambda v: v is not None))
    new = _set(old, path, leaf)
    changed = fingerprint_of(new, labels) != fingerprint_of(old, labels)
    assert changed == (path[0] != "title")
    # A label added or removed is not a render either.
    assert fingerprint_of({**old, "title": "x"}, labels) == fingerprint_of(
        {k: v for k, v in old.items() if k != "title"}, labels
    )


def test_a_legacy_fingerprint_is_the_same_render() -> None:
    """A lock entry written before labels (its fingerprint hashed the title) matches,
    with the same title or another; any other change does not."""
    request = requests(base_spec())["hi-2"]
    legacy = legacy_fingerprint(request.inputs)
    labels = ("title",)
    assert same_render(legacy, request.inputs, request, labels)
    retitled = {**request.inputs, "title": "Old title"}
    assert same_render(legacy_fingerprint(retitled), retitled, request, labels)
    other = {**request.inputs, "aspect": "square"}
    assert not same_render(legacy_fingerprint(other), other, request, labels)
    assert not same_render(legacy_fingerprint(other), request.inputs, request, labels)
    assert not same_render(legacy, request.inputs, request, ())


def test_one_byte_of_an_audio_file_changes_only_the_videos_using_it() -> None:
    audio = bytearray(wav_bytes(1))
    audio[-1] ^= 0x01
    after = fingerprints(base_spec(), files={"assets/intro.wav": bytes(audio)})
    changed = sorted(name for name in BASE if after[name] != BASE[name])
    assert changed == ["intro", "local-one"]


def test_changed_fields_names_the_asset_not_its_hash() -> None:
    before = requests(base_spec())["outro"]
    audio = bytearray(wav_bytes(2))
    audio[-1] ^= 0x01
    after = requests(base_spec(), files={"assets/outro.wav": bytes(audio)})["outro"]
    assert changed_fields(before.inputs, after.inputs) == ("voice.audio",)


def test_photo_image_change_changes_the_videos_of_that_photo_avatar() -> None:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (600, 600), (1, 2, 3)).save(buffer, format="PNG")
    after = fingerprints(base_spec(), files={"assets/face.png": buffer.getvalue()})
    assert sorted(n for n in BASE if after[n] != BASE[n]) == ["founder"]


def test_changed_fields_of_flat_and_nested_inputs() -> None:
    old = {
        "voice": {"script": "a", "voice_id": "v"},
        "aspect": "portrait",
        "image": {"sha256": "1"},
    }
    new = copy.deepcopy(old) | {"aspect": "square", "title": "t"}
    new["image"] = {"sha256": "2"}
    assert changed_fields(old, new) == ("aspect", "image", "title")
    assert changed_fields(old, old) == ()


def test_inputs_hold_no_paths_only_hashes() -> None:
    inputs = requests(base_spec())["intro"].inputs
    text = json.dumps(inputs)
    assert "assets/" not in text and "intro.wav" not in text
    assert set(inputs["voice"]["audio"]) == {"sha256"}


# Scripts a YAML file can hold: YAML refuses surrogates, controls and noncharacters
# such as U+FFFE (Cn), with a located error of its own.
SCRIPT = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Cn", "Co", "Zl", "Zp")), max_size=40
).filter(lambda s: s.strip() and not any(m in s for m in ("{{", "{%", "{#")))


@FAST
@given(SCRIPT, SCRIPT)
def test_fingerprint_changes_exactly_when_the_script_does(first: str, second: str) -> None:
    spec = base_spec()
    spec["videos"][2]["voice"] = {"script": first}
    before = requests(spec)["outro"]
    spec["videos"][2]["voice"] = {"script": second}
    after = requests(spec)["outro"]
    assert (before.fingerprint == after.fingerprint) == (first == second)
    assert changed_fields(before.inputs, after.inputs) == (
        () if first == second else ("voice.script",)
    )


def mirako_spec() -> dict[str, Any]:
    spec = base_spec()
    spec["videos"].append(
        {"name": "m-audio", "provider": "mirako", "image": "face", "voice": {"audio": "intro"}}
    )
    spec["videos"].append(
        {
            "name": "m-script",
            "provider": "mirako",
            "image": "face",
            "voice": {"script": "hi", "voice_id": "profile-1"},
        }
    )
    return spec


MIRAKO = fingerprints(mirako_spec())


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("defaults/aspect", "landscape"),
        ("defaults/captions", False),
        ("defaults/avatar/id", 82),
        ("defaults/voice/voice_id", "v2"),
    ],
)
def test_fields_mirako_does_not_take_do_not_change_its_videos(path: str, value: Any) -> None:
    spec = mirako_spec()
    *parents, last = path.split("/")
    node: Any = spec
    for part in parents:
        node = node[part]
    node[last] = value
    after = fingerprints(spec)
    assert after["m-audio"] == MIRAKO["m-audio"] and after["m-script"] == MIRAKO["m-script"]
    assert after["hi-1"] != MIRAKO["hi-1"]  # a jogg video of the same defaults does change


def test_mirako_script_voice_changes_its_video() -> None:
    spec = mirako_spec()
    spec["videos"][-1]["voice"]["voice_id"] = "profile-2"
    assert fingerprints(spec)["m-script"] != MIRAKO["m-script"]


def test_jogg_ignores_image_from_defaults() -> None:
    spec = base_spec()
    spec["defaults"]["image"] = "face"
    assert fingerprints(spec)["outro"] == BASE["outro"]
    assert fingerprints(spec)["local-one"] != BASE["local-one"]  # local shows the image
