"""The expansion memo (memo/) never gives a plan the full path would not.

Hypothesis writes a project: a spec whose videos read a JSON data file, templates
(one including another, one from the shared ../templates, one included with
``ignore missing`` and absent), a PNG and a WAV asset (a photo avatar, a Mirako
video speaking the WAV), `vars` and maybe `--var`; every video completed with its
output file, and the assets' facts in the lockfile's hash cache, as apply leaves
them. A full plan (all unchanged) writes the memo (``serve.remember``), as `plan`
does. Then one edit, each changing one input by one byte or one fact:

    the spec, a data file, a template (each of the three); a template that now
    shadows the shared one, or the absent one appearing; an asset's content (its
    size kept), the same edit with the old mtime put back (the hash cache is
    trusted, by both paths alike), an asset touched with the same content; `--var`;
    reelform or a plugin's version (a distribution's metadata folder on sys.path);
    the state (an output file removed, a video's record removed, the photo avatar's
    record removed, failed or of another fingerprint); the working folder.

The memo path (``serve.memo_plans``) must then give None (plan in full) or exactly
the full path's plans (``prepare_all`` + ``plan_all``, as `plan` runs them), and
when the spec is an error, None. Where nothing that matters changed (no edit, a
touched asset, another working folder) it must answer; where an input that every
spec here reads changed, or the state did, it must decline.

Checked able to fail, by breaking the key on purpose, one input at a time (each
failed within seconds): the spec's digest not compared; the data files not
compared; the templates not compared; the asset facts not compared; `--var` not
compared; the code identity not compared; the photo avatars' records not checked
(``unchanged_by_memo``); the videos' digest not checked. (A template's file compared by content
only is not a break: an include finds templates by name on one search path, so
the same name with the same text renders the same, wherever the file is.)
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import Phase, event, given, settings
from hypothesis import strategies as st

from reelform.errors import SpecError
from reelform.memo.code import code_identity
from reelform.memo.serve import memo_plans, remember
from reelform.memo.store import MemoFile
from reelform.plan.diff import SpecPlan
from reelform.project import Prepared, plan_all, prepare, prepare_all
from reelform.state.lockfile import LockState, read_lock, write_lock
from reelform.state.preload import LockSummary, summarize
from reelform.state.records import AvatarRecord, FileRecord, VideoRecord

PROPERTY = settings(
    max_examples=300,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],  # no slow explain
)

TEXT = st.text(st.sampled_from(list("aZ09 é中-_.,:'\"{}%#\\")), max_size=5)
IDS = st.text(st.sampled_from("abcXYZ0189"), min_size=1, max_size=3)
ROWS = st.lists(st.tuples(IDS, TEXT), min_size=1, max_size=4, unique_by=lambda p: p[0]).map(
    lambda pairs: [{"id": key, "first": first} for key, first in pairs]
)
#: A byte written in place of another: printable ASCII, or one that breaks UTF-8.
BYTES = st.sampled_from([*b"aZ0 {}:'\"-,\n", 0xFF])

EDITS = [
    "none",
    "spec",
    "data",
    "template own.j2",
    "template part.j2",
    "template shared.j2",
    "shadowing template",
    "appearing template",
    "asset content",
    "asset content, old mtime",
    "asset touched",
    "var",
    "code",
    "output removed",
    "record removed",
    "avatar record changed",
    "working folder",
]
#: Nothing a plan depends on changed: the memo must answer.
MUST_ANSWER = {"none", "asset touched", "working folder"}
#: An input of every spec here changed, or the state is no longer all unchanged: the
#: memo must decline, even where the plan would come out the same (a new plugin
#: version may change nothing of these specs, but could of another).
MUST_DECLINE = {"spec", "data", "asset content", "var", "code", "output removed", "record removed"}


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    script = draw(
        st.sampled_from(
            [
                "{% include 'own.j2' %}",
                "{% include 'shared.j2' %}",
                "Hi {{ row.first }}{% include 'maybe.j2' ignore missing %}",
                "{{ row.first }} at {{ vars.company }}",
            ]
        )
    )
    videos: list[dict[str, Any]] = [
        {
            "name": "hi-{{ row.id }}",
            "for_each": "people",
            "provider": draw(st.sampled_from(["local", "jogg"])),
            "title": "For {{ row.first }}",
            "voice": {"script": script},
        }
    ]
    if draw(st.booleans()):
        videos.append(
            {"name": "founder", "provider": "jogg", "avatar": {"photo": "boss"}, "voice": {}}
        )
    if draw(st.booleans()):
        videos.append(
            {"name": "spoken", "provider": "mirako", "image": "face", "voice": {"audio": "clip"}}
        )
    return {
        "version": 1,
        "output": "out",
        "vars": {"company": draw(TEXT)},
        "data": {"people": "people.json"},
        "assets": {"face": "face.png", "clip": "clip.wav"},
        "avatars": {"boss": {"image": "face", "voice_id": "v-b", "model": "2.0"}},
        "providers": {"jogg": {"api_version": "v2"}},
        "defaults": {"avatar": {"id": 1}, "voice": {"voice_id": "en", "script": "Hello."}},
        "videos": videos,
    }


def media() -> tuple[bytes, bytes]:
    """A 600x600 PNG and a second of WAV (as tests/conftest.py makes them)."""
    import io
    import wave

    from PIL import Image

    image = io.BytesIO()
    Image.new("RGB", (600, 600), (90, 120, 60)).save(image, format="PNG")
    sound = io.BytesIO()
    with wave.open(sound, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(8000)
        handle.writeframes(bytes(range(256)) * 32)
    return image.getvalue(), sound.getvalue()


PNG, WAV = media()


@contextmanager
def project(spec: dict[str, Any], rows: list[dict[str, Any]]) -> Iterator[Path]:
    """The project in a fresh folder (shared templates beside it); the spec's path."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "proj"
        (root / "templates").mkdir(parents=True)
        (root.parent / "templates").mkdir()
        (root / "templates" / "own.j2").write_text("Hi {{ row.first }}, {% include 'part.j2' %}")
        (root / "templates" / "part.j2").write_text("from {{ vars.company }}.")
        (root.parent / "templates" / "shared.j2").write_text("Shared: {{ row.first }}")
        (root / "face.png").write_bytes(PNG)
        (root / "clip.wav").write_bytes(WAV)
        (root / "people.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        (root / "spec.yaml").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        (root / "out").mkdir()
        yield root / "spec.yaml"


def complete(prepared: Prepared) -> None:
    """The state apply leaves: every video completed with its output, every photo
    avatar made, the assets' facts in the hash cache."""
    root = prepared.spec.directory
    lock = LockState()
    for request in prepared.requests:
        output = root / "out" / f"{request.name}.mp4"
        output.write_bytes(b"video")
        entry = {
            "fingerprint": request.fingerprint,
            "key": request.key,
            "inputs": request.inputs,
            "provider": request.provider,
            "status": "completed",
            "output": {
                "path": f"out/{request.name}.mp4",
                "bytes": 5,
                "mtime_ns": output.stat().st_mtime_ns,
                "sha256": "f6f4" + "0" * 60,  # not checked while size and mtime agree
            },
        }
        lock.videos[request.name] = VideoRecord.from_json(entry)
    for avatar in prepared.avatars:
        lock.avatars[avatar.lock_key] = AvatarRecord.from_json(
            {"fingerprint": avatar.fingerprint, "inputs": avatar.inputs, "status": "completed"}
        )
    for name, facts in prepared.facts.items():
        if facts is not None:
            lock.files[name_of(prepared, name)] = FileRecord.from_json(facts.to_json())
    write_lock(prepared.spec.lock_path, lock)


def name_of(prepared: Prepared, asset: str) -> str:
    path = prepared.spec.assets[asset].path
    assert path is not None
    return prepared.file_key(path)


def flip(path: Path, index: int, byte: int) -> None:
    """One byte of ``path`` replaced (by another: ``byte``, or its neighbour)."""
    data = bytearray(path.read_bytes())
    at = index % len(data)
    data[at] = byte if data[at] != byte else (byte + 1) % 256
    path.write_bytes(bytes(data))


def full_plans(
    path: Path,
    variables: dict[str, str] | None,
    summaries: Mapping[Path, LockSummary] | None = None,
) -> list[SpecPlan] | None:
    """The full path, as `plan` runs it; None when the spec is an error."""
    try:
        return plan_all(prepare_all([path], variables, summaries=summaries))
    except SpecError:
        return None


@contextmanager
def installed_distribution() -> Iterator[Path]:
    """A folder on sys.path holding one distribution's metadata (a plugin, say)."""
    with tempfile.TemporaryDirectory() as folder:
        dist = Path(folder) / "reelform_fake_plugin-1.0.dist-info"
        dist.mkdir()
        (dist / "METADATA").write_text(
            "Metadata-Version: 2.1\nName: reelform-fake-plugin\nVersion: 1.0\n"
        )
        sys.path.append(folder)
        code_identity.cache_clear()
        try:
            yield dist
        finally:
            sys.path.remove(folder)
            code_identity.cache_clear()


def edit(
    kind: str, path: Path, data: st.DataObject, dist: Path, variables: dict[str, str] | None
) -> tuple[Path, dict[str, str] | None]:
    """Make the edit ``kind`` to the project of ``path`` (absolute; the working folder
    is its folder); the spec path and `--var` to plan with afterwards."""
    root = path.parent
    at = data.draw(st.integers(0, 10**6), label="byte index")
    if kind == "spec":
        flip(path, at, data.draw(BYTES, label="byte"))
    elif kind == "data":
        flip(root / "people.json", at, data.draw(BYTES, label="byte"))
    elif kind.startswith("template "):
        name = kind.removeprefix("template ")
        folder = root.parent if name == "shared.j2" else root
        flip(folder / "templates" / name, at, data.draw(BYTES, label="byte"))
    elif kind == "shadowing template":
        same = data.draw(st.booleans(), label="same content")
        text = (root.parent / "templates" / "shared.j2").read_text()
        (root / "templates" / "shared.j2").write_text(text if same else text + "!")
    elif kind == "appearing template":
        (root / "templates" / "maybe.j2").write_text(data.draw(st.sampled_from(["", " more"])))
    elif kind.startswith("asset"):
        asset = root / data.draw(st.sampled_from(["face.png", "clip.wav"]), label="asset")
        before = asset.stat()
        if kind != "asset touched":
            # Past the headers: the file stays a PNG or WAV of the same size and shape.
            content = bytearray(asset.read_bytes())
            content[-1 - at % 64] ^= 0x01
            asset.write_bytes(bytes(content))
        if kind == "asset content, old mtime":
            os.utime(asset, ns=(before.st_atime_ns, before.st_mtime_ns))
        else:
            os.utime(asset, ns=(before.st_atime_ns, before.st_mtime_ns + 10**9))
    elif kind == "var":
        company = (variables or {}).get("company", "Acme")
        choice = data.draw(st.sampled_from(["one more", "one less", "none", "other name"]))
        if choice == "one more":
            variables = {"company": company + "x"}
        elif choice == "one less" and company:
            variables = {"company": company[:-1]}
        elif choice == "other name":
            variables = {**(variables or {}), "other": "1"}
        else:
            variables = None if variables else {"company": company}
    elif kind == "code":
        dist.rename(dist.with_name("reelform_fake_plugin-1.1.dist-info"))
        code_identity.cache_clear()
    elif kind == "output removed":
        outputs = sorted((root / "out").iterdir())
        outputs[at % len(outputs)].unlink()
    elif kind == "record removed":
        state = read_lock(path.with_suffix(".lock"))
        names = sorted(state.videos)
        del state.videos[names[at % len(names)]]
        write_lock(path.with_suffix(".lock"), state)
    elif kind == "avatar record changed":  # of the photo avatar, if the spec has one
        state = read_lock(path.with_suffix(".lock"))
        how = data.draw(st.sampled_from(["removed", "failed", "other fingerprint"]))
        for key in list(state.avatars):
            record = state.avatars[key].to_json()
            if how == "removed":
                del state.avatars[key]
                continue
            if how == "failed":
                record["status"] = "failed"
            else:
                record["fingerprint"] = "e" * 64
            state.avatars[key] = AvatarRecord.from_json(record)
        write_lock(path.with_suffix(".lock"), state)
    elif kind == "working folder":
        os.chdir(root.parent)
        return Path(root.name) / path.name, variables
    return Path(path.name), variables


@PROPERTY
@given(specs(), ROWS, st.sampled_from(EDITS), st.data())
def test_the_memo_path_is_the_full_path_or_declines(
    spec: dict[str, Any], rows: list[dict[str, Any]], kind: str, data: st.DataObject
) -> None:
    home = os.getcwd()
    variables = data.draw(st.none() | st.fixed_dictionaries({"company": TEXT}), label="--var")
    with project(spec, rows) as path, installed_distribution() as dist:
        os.chdir(path.parent)
        try:
            local = Path(path.name)
            prepared = prepare(local, variables)
            complete(prepared)
            code = code_identity()
            first = plan_all(prepare_all([local], variables))
            assert not any(p.changes for p in first)
            assert memo_plans([local], variables, code).plans is None  # no memo yet
            remember(prepare_all([local], variables), first, variables, code)
            assert MemoFile.of(path).load() is not None
            assert memo_plans([local], variables, code).plans == first

            target, variables = edit(kind, path, data, dist, variables)
            code = code_identity()
            answer = memo_plans([target], variables, code)
            served = answer.plans
            full = full_plans(target, variables)
            # The full path from a state already summarized (as `plan` runs it after the
            # memo read the state and declined) is the full path.
            assert answer.summaries == {}  # a small lockfile's is not handed on
            summary = summarize(read_lock(path.with_suffix(".lock")), path.parent)
            assert full_plans(target, variables, {path.resolve(): summary}) == full
            event(f"{kind}: {'served' if served is not None else 'declined'}")
            if kind in MUST_ANSWER:
                assert served is not None
            if kind in MUST_DECLINE or (kind == "avatar record changed" and prepared.avatars):
                assert served is None
            if served is not None:
                assert full is not None, "the memo answered for a spec that is an error"
                assert served == full
        finally:
            os.chdir(home)


def test_the_code_identity_follows_the_installed_distributions() -> None:
    before = code_identity()
    with installed_distribution() as dist:
        added = code_identity()
        dist.rename(dist.with_name("reelform_fake_plugin-1.0.1.dist-info"))
        code_identity.cache_clear()
        bumped = code_identity()
        shutil.rmtree(dist.with_name("reelform_fake_plugin-1.0.1.dist-info"))
    assert len({before, added, bumped}) == 3
    assert code_identity() == before
