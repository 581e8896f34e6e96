"""The no-op planner (plan/unchanged.py) is the full diff, where it answers.

Hypothesis writes a project (a few videos with templated fields, for_each over
rows with awkward values: unicode, empty strings, numbers and numbers as
strings, quotes, braces; a photo avatar) and a lockfile for it (each video
unchanged, or its output missing, changed or only touched, its fingerprint
different, its entry missing, or failed, submitted, submitting, unknown; orphans;
the avatar made, missing, failed or changed; a JoggAI title changed, gone
or not a string, a legacy fingerprint), and a `--target` selection. From
the lockfile's summary ``unchanged_plan`` must give ``diff``'s plan or None, and
must answer when nothing changed; without a selection, ``unchanged_by_memo`` (the
expansion memo's check, from the requests' ``memo_of``) and ``unchanged_by_keys``
(from the requests' keys) must answer exactly as ``unchanged_plan`` does.

Checked able to fail, by breaking ``unchanged_plan`` on purpose one way at a
time: the orphan check removed; the avatar check's ``or`` made ``and``; the
``--target`` selection ignored; the output required not intact (so it never
answers); the label left out of the summary's key. Each failed within a few examples.
The whole-spec path's orphan and superseded checks need every drawn video unchanged,
which is rare here: tests/plan/test_unchanged_checks.py pins those cases.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from reelform import project
from reelform.plan.diff import AvatarRequest, diff
from reelform.plan.fingerprint import Request, legacy_fingerprint
from reelform.plan.unchanged import (
    keys_of,
    memo_of,
    unchanged_by_keys,
    unchanged_by_memo,
    unchanged_plan,
)
from reelform.state.lock_source import LockSource
from reelform.state.lockfile import LockState, read_lock, write_lock
from reelform.state.preload import summarize
from reelform.state.records import AvatarRecord, VideoRecord

PROPERTY = settings(max_examples=150, deadline=None)

AWKWARD = st.text(
    st.sampled_from(list("aZ09 é中🙂-_.,:'\"{}%#\\")) | st.characters(exclude_categories=["Cs"]),
    max_size=6,
)
#: In the spec file itself: what YAML can hold (no control characters).
PRINTABLE = st.text(
    st.sampled_from(list("aZ09 é中🙂-_.,:'\"{}%#\\"))
    | st.characters(exclude_categories=["Cc", "Cs", "Cn"]),
    max_size=6,
)
ROW = st.fixed_dictionaries(
    {
        "first": AWKWARD | st.sampled_from(["", "0", "007", "1.5", "None"]),
        "n": st.integers(-5, 10**9) | st.floats(allow_nan=False, allow_infinity=False) | AWKWARD,
        "style": st.sampled_from(["1", "2", "3", 1, 3, " 2 "]),
        "flag": st.sampled_from(["yes", "no", "", "YES", True, False]),
    }
)
IDS = st.text(st.sampled_from("abcXYZ0189"), min_size=1, max_size=3)
ROWS = st.lists(st.tuples(IDS, ROW), max_size=6, unique_by=lambda pair: pair[0]).map(
    lambda pairs: [{"id": key, **row} for key, row in pairs]
)


@st.composite
def specs(draw: st.DrawFn) -> dict[str, Any]:
    per_row: dict[str, Any] = {
        "name": "hi-{{ row.id }}",
        "for_each": "people",
        # JoggAI's title is a label (not in the fingerprint); the local renderer's is not.
        "provider": draw(st.sampled_from(["local", "jogg"])),
        "title": draw(st.sampled_from(["For {{ row.first }} #{{ row.n }}", "{{ row.first }}"])),
        "voice": {"script": "Hi {{ row.first }}, {{ vars.company }} says {{ row.n }}."},
    }
    if draw(st.booleans()):
        per_row["when"] = "{{ row.flag == 'yes' }}"
    if draw(st.booleans()):
        per_row["screen_style"] = "{{ row.style }}"
    videos: list[dict[str, Any]] = [per_row]
    if draw(st.booleans()):
        videos.append({"name": "intro-{{ spec.name }}", "voice": {"script": "{{ vars.company }}"}})
    if draw(st.booleans()):  # a photo avatar, made once at JoggAI before its videos
        videos.append(
            {"name": "founder", "provider": "jogg", "avatar": {"photo": "boss"}, "voice": {}}
        )
    return {
        "version": 1,
        "output": "out",
        "vars": {"company": draw(PRINTABLE)},
        "data": {"people": "people.json"},
        "assets": {"face": "face.png"},
        "avatars": {"boss": {"image": "face", "voice_id": "v-b", "model": "2.0"}},
        "providers": {"jogg": {"api_version": "v2"}},
        "defaults": {
            "avatar": {"id": 1},
            "voice": {"voice_id": "en", "script": "Hello."},
        },
        "videos": videos,
    }


def png() -> bytes:
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (600, 600)).save(buffer, format="PNG")
    return buffer.getvalue()


PNG = png()


@contextmanager
def written(spec: dict[str, Any], rows: list[dict[str, Any]]) -> Iterator[Path]:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "face.png").write_bytes(PNG)
        (root / "people.json").write_text(json.dumps(rows, ensure_ascii=False), encoding="utf-8")
        (root / "spec.yaml").write_text(json.dumps(spec, ensure_ascii=False), encoding="utf-8")
        (root / "out").mkdir()
        yield root / "spec.yaml"


#: What the lockfile says of a video the spec asks for.
VIDEO_CASES = [
    "unchanged",
    "touched",  # the output's mtime moved, its bytes did not: hashed, still unchanged
    "output missing",
    "output changed",
    "no output record",
    "other fingerprint",
    "legacy fingerprint",  # written before labels: the digest of the inputs, title too
    "other title",  # a label change: diff's (``SpecPlan.relabel``), not the summary's
    "no title",
    "odd title",  # not a string (a lockfile edited by hand)
    "absent",
    "failed",
    "submitted",
    "submitting",
    "unknown",
    "odd status",
]
UNCHANGED = {"unchanged", "touched"}
AVATAR_CASES = ["completed", "absent", "other fingerprint", "failed", "submitting"]
VIDEO = b"video"
SHA = hashlib.sha256(VIDEO).hexdigest()


def video_entry(root: Path, request: Request, case: str) -> dict[str, Any] | None:
    if case == "absent":
        return None
    output = root / "out" / f"{request.name}.mp4"
    output.write_bytes(VIDEO)
    entry: dict[str, Any] = {
        "fingerprint": request.fingerprint if case != "other fingerprint" else "f" * 64,
        "key": request.key,
        "inputs": request.inputs,
        "provider": request.provider,
        "status": "completed",
        "output": {
            "path": f"out/{request.name}.mp4",
            "bytes": 5,
            "mtime_ns": output.stat().st_mtime_ns,
            "sha256": SHA,
        },
    }
    if case == "legacy fingerprint":
        entry["fingerprint"] = legacy_fingerprint(request.inputs)
    elif case == "other title":
        entry["inputs"] = {**request.inputs, "title": "Another title"}
    elif case == "no title":
        entry["inputs"] = {k: v for k, v in request.inputs.items() if k != "title"}
    elif case == "odd title":
        entry["inputs"] = {**request.inputs, "title": 7}
    elif case == "touched":
        entry["output"]["mtime_ns"] -= 10**9
    elif case == "output missing":
        output.unlink()
    elif case == "output changed":
        output.write_bytes(b"another video")
    elif case == "no output record":
        del entry["output"]
    elif case in ("failed", "submitted", "submitting", "unknown", "odd status"):
        entry["status"] = case if case != "odd status" else "paused"
        entry["job_id"] = "j-1"
        if case == "failed":
            entry["error"] = "boom"
    return entry


def avatar_entry(avatar: AvatarRequest, case: str) -> dict[str, Any] | None:
    if case == "absent":
        return None
    fingerprint = avatar.fingerprint if case != "other fingerprint" else "e" * 64
    status = {"completed": "completed", "failed": "failed", "submitting": "submitting"}.get(
        case, "completed"
    )
    return {"fingerprint": fingerprint, "inputs": avatar.inputs, "status": status}


@PROPERTY
@given(specs(), ROWS, st.data())
def test_the_unchanged_plan_is_the_full_diff(
    spec: dict[str, Any], rows: list[dict[str, Any]], data: st.DataObject
) -> None:
    with written(spec, rows) as path:
        prepared = project.prepare(path)
        root = path.parent
        cases = {
            r.name: data.draw(st.sampled_from(VIDEO_CASES), label=r.name) for r in prepared.requests
        }
        lock = LockState()
        for request in prepared.requests:
            entry = video_entry(root, request, cases[request.name])
            if entry is not None:
                lock.videos[request.name] = VideoRecord.from_json(entry)
        orphans = data.draw(st.lists(st.sampled_from(["gone-1", "gone-2"]), unique=True))
        for name in orphans:
            lock.videos[name] = VideoRecord.from_json(
                {"fingerprint": "0" * 64, "status": "completed", "provider": "local"}
            )
        avatar_cases = {
            a.lock_key: data.draw(st.sampled_from(AVATAR_CASES), label=a.lock_key)
            for a in prepared.avatars
        }
        for avatar in prepared.avatars:
            record = avatar_entry(avatar, avatar_cases[avatar.lock_key])
            if record is not None:
                lock.avatars[avatar.lock_key] = AvatarRecord.from_json(record)
        write_lock(prepared.spec.lock_path, lock)
        everything = [*cases, *orphans]
        chosen = data.draw(st.none() | st.sets(st.sampled_from(everything or ["none"])))
        selected: Callable[[str], bool] | None = None if chosen is None else chosen.__contains__

        state = read_lock(prepared.spec.lock_path)
        full = dataclasses.replace(prepared, lock_source=LockSource.of(state))
        spec_name, lock_name = str(path), str(prepared.spec.lock_path)
        summary = summarize(read_lock(prepared.spec.lock_path), root)
        fast = unchanged_plan(
            spec_name, prepared.requests, prepared.avatars, summary, lock_name, selected
        )
        slow = diff(
            spec_name,
            prepared.requests,
            prepared.avatars,
            state,
            project.observe_outputs(full),
            lock_name,
            selected,
        )
        event("unchanged_plan answered" if fast is not None else "unchanged_plan declined")
        event(f"{len(prepared.requests)} videos, {len(prepared.avatars)} photo avatars")
        if fast is not None:
            assert fast == slow
            assert fast.requests == slow.requests
        if selected is None:  # the memo's half (memo/) answers as unchanged_plan does
            memo = memo_of(prepared.requests, prepared.avatars)
            assert memo is not None  # every request has a key
            assert unchanged_by_memo(spec_name, memo, summary, lock_name) == fast
            # and so do the keys alone (the `plan` command's, made on two cores)
            by_keys = unchanged_by_keys(
                spec_name, keys_of(prepared.requests), prepared.avatars, summary, lock_name
            )
            assert by_keys == (None if fast is None else dataclasses.replace(fast, requests={}))
        nothing_changed = (
            all(case in UNCHANGED for case in cases.values())
            and not orphans
            and all(case == "completed" for case in avatar_cases.values())
        )
        if nothing_changed:
            assert not slow.changes
            assert fast is not None
