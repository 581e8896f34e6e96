"""Lockfiles, journals and saved plans of the wrong shape, through the real CLI.

Each is a located error (the file, the section and key, the line where known),
exit 1, never a traceback, and the file is left exactly as it was: a lockfile
that cannot be read holds job ids that were paid for.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest

from reelform.cli import main
from reelform.state.lockfile import dump_json

SPEC = """
version: 1
provider: local
defaults: {avatar: {id: 1}, voice: {voice_id: en}}
videos:
  - {name: a, voice: {script: one two}}
  - {name: b, voice: {script: three}}
"""

#: A lockfile as reelform writes it; every case below breaks one thing in it.
BASE: dict[str, Any] = {
    "version": 1,
    "files": {
        "assets/p.png": {
            "sha256": "1" * 64,
            "size": 10,
            "mtime_ns": 1,
            "format": "png",
            "width": 8,
            "height": 8,
        }
    },
    "uploads": {"jogg:" + "1" * 64: {"url": "https://cdn/p.png", "at": "2026-01-01T00:00:00Z"}},
    "avatars": {
        "jogg/me": {
            "fingerprint": "2" * 64,
            "inputs": {"image": {"sha256": "1" * 64}},
            "provider": "jogg",
            "model": "2.0",
            "status": "completed",
            "motion_id": "m-1",
            "avatar_id": 7,
        }
    },
    "videos": {
        "a": {
            "fingerprint": "3" * 64,
            "key": "rf-a",
            "inputs": {"voice": {"script": "one two"}},
            "provider": "local",
            "status": "completed",
            "job_id": "rf-a",
            "submitted_at": "2026-01-01T00:00:00Z",
            "completed_at": "2026-01-01T00:00:01Z",
            "output": {
                "path": "out/spec/a.mp4",
                "sha256": "4" * 64,
                "bytes": 10,
                "mtime_ns": 1,
                "duration": 0.7,
                "url": "file:///x/a.mp4",
            },
        },
        "b": {
            "fingerprint": "5" * 64,
            "inputs": {"voice": {"script": "three"}},
            "provider": "local",
            "status": "submitted",
            "job_id": "rf-b",
        },
    },
}


def lock_bytes(data: Any) -> bytes:
    """In reelform's own layout when the sections allow it (so lines are real)."""
    if isinstance(data, dict) and all(
        isinstance(data.get(s), dict) for s in ("files", "uploads", "avatars", "videos")
    ):
        sections = {s: data[s] for s in ("files", "uploads", "avatars", "videos")}
        extra = {k: v for k, v in data.items() if k not in sections}
        if orjson.dumps(extra) == b'{"version":1}':  # not True, which equals 1
            return dump_json(sections)
    return orjson.dumps(data, option=orjson.OPT_INDENT_2)


def broken(change: Callable[[dict[str, Any]], Any]) -> bytes:
    data = copy.deepcopy(BASE)
    result = change(data)
    return lock_bytes(data if result is None else result)


def setitem(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set ``path`` ("videos|a|job_id": keys hold slashes) to ``value``."""

    def change(data: Any) -> None:
        *parents, last = path.split("|")
        for part in parents:
            data = data[int(part)] if isinstance(data, list) else data[part]
        data[int(last) if isinstance(data, list) else last] = value

    return change


# In BASE's layout: files at line 4, uploads 7, avatars 10, videos "a" 13 and "b" 14.
LOCK_CASES = [
    (
        "video-is-a-list",
        broken(setitem("videos|a", [1, 2])),
        'spec.lock:13: corrupt lockfile: videos["a"]: must be an object, not an array',
    ),
    (
        "job-id-is-a-dict",
        broken(setitem("videos|b|job_id", {"id": 1})),
        'spec.lock:14: corrupt lockfile: videos["b"]: job_id must be a string (or null), '
        "not an object",
    ),
    (
        "status-is-an-int",
        broken(setitem("videos|a|status", 3)),
        'videos["a"]: status must be a string, not an integer',
    ),
    (
        "output-is-a-string",
        broken(setitem("videos|a|output", "out/a.mp4")),
        'videos["a"]: output must be an object, not a string',
    ),
    (
        "inputs-is-a-list",
        broken(setitem("videos|b|inputs", ["voice"])),
        'videos["b"]: inputs must be an object, not an array',
    ),
    (
        "output-bytes-is-a-string",
        broken(setitem("videos|a|output|bytes", "10")),
        'videos["a"]: output.bytes must be an integer (or null), not a string',
    ),
    (
        "output-path-is-a-number",
        broken(setitem("videos|a|output|path", 1)),
        "output.path must be a string (or null), not an integer",
    ),
    (
        "fingerprint-is-null",
        broken(setitem("videos|a|fingerprint", None)),
        "fingerprint must be a string, not null",
    ),
    (
        "error-is-a-number",
        broken(setitem("videos|b|error", 500)),
        "error must be a string (or null), not an integer",
    ),
    (
        "version-is-a-string",
        broken(setitem("version", "1")),
        "spec.lock:2: lockfile version '1' is not a number",
    ),
    (
        "version-is-a-boolean",
        broken(setitem("version", True)),
        "lockfile version True is not a number",
    ),
    (
        "videos-is-a-list",
        broken(setitem("videos", [BASE["videos"]["a"]])),
        "`videos` must be an object mapping names to records, not an array",
    ),
    ("lockfile-is-a-list", broken(lambda data: [data]), "spec.lock: not a reelform lockfile"),
    (
        "file-size-is-a-string",
        broken(setitem("files|assets/p.png", {"sha256": "1" * 64, "size": "10"})),
        "size must be an integer, not a string",
    ),
    (
        "file-width-is-a-boolean",
        broken(setitem("files", {"p.png": {"sha256": "1", "size": 1, "width": True}})),
        'spec.lock:4: corrupt lockfile: files["p.png"]: width must be an integer (or null), '
        "not a boolean",
    ),
    (
        "upload-url-is-a-number",
        broken(setitem("uploads", {"jogg:1": {"url": 1}})),
        'spec.lock:7: corrupt lockfile: uploads["jogg:1"]: url must be a string, not an integer',
    ),
    (
        "avatar-id-is-a-list",
        broken(setitem("avatars|jogg/me", {"status": "completed", "avatar_id": [7]})),
        "avatar_id must be an integer or a string (or null), not an array",
    ),
    (
        "avatar-inputs-is-a-string",
        broken(setitem("avatars", {"jogg/me": {"inputs": "x"}})),
        'spec.lock:10: corrupt lockfile: avatars["jogg/me"]: inputs must be an object, not a '
        "string",
    ),
    (
        "two-bad-records-are-counted",
        broken(lambda d: d["videos"].update(a=1, b=2)),
        "(and 1 more bad records)",
    ),
]

GOOD_LINE = b'{"k":"a","s":"videos","v":{"status":"submitted","job_id":"rf-a"}}\n'
JOURNAL_CASES = [
    (
        "record-value-is-a-list",
        b'{"k":"a","s":"videos","v":[1]}\n',
        'spec.lock.journal:1: corrupt journal record: videos["a"]: must be an object, not an array',
    ),
    (
        "record-job-id-is-a-dict",
        GOOD_LINE + b'{"k":"a","s":"videos","v":{"job_id":{"x":1}}}\n' + GOOD_LINE,
        'spec.lock.journal:2: corrupt journal record: videos["a"]: job_id must be a string '
        "(or null), not an object",
    ),
    (
        "record-unknown-section",
        b'{"k":"a","s":"vids","v":{}}\n',
        "spec.lock.journal:1: corrupt journal record: unknown section 'vids'",
    ),
    (
        "record-key-is-a-number",
        b'{"k":1,"s":"videos","v":{}}\n',
        "spec.lock.journal:1: corrupt journal record: k must be a string, not an integer",
    ),
    (
        "record-is-an-array",
        b'["videos","a",{}]\n',
        "spec.lock.journal:1: corrupt journal record: must be an object, not an array",
    ),
    (
        "record-without-a-value",
        b'{"k":"a","s":"videos"}\n',
        "spec.lock.journal:1: corrupt journal record: no v",
    ),
    (
        "record-not-json-mid-way",
        GOOD_LINE + b"GARBAGE\n" + GOOD_LINE,
        "spec.lock.journal:2: corrupt journal record (not JSON)",
    ),
]


PLAN_CASES = [
    (
        "plan-items-are-strings",
        setitem("specs|0|items", ["create a"]),
        "plan.json: specs[0].items[0] must be an object, not a string",
    ),
    (
        "plan-version-is-a-string",
        setitem("version", "1"),
        "plan.json: plan format version '1' is not 1",
    ),
    (
        "plan-specs-is-an-object",
        setitem("specs", {"spec": "spec.yaml"}),
        "plan.json: specs must be an array, not an object",
    ),
    (
        "plan-spec-entry-is-a-list",
        setitem("specs|0", ["spec.yaml"]),
        "plan.json: specs[0] must be an object, not an array",
    ),
    (
        "plan-lock-digest-is-a-number",
        setitem("specs|0|lock_digest", 1),
        "plan.json: specs[0].lock_digest must be a string, not an integer",
    ),
    (
        "plan-inputs-is-a-list",
        setitem("inputs", ["spec.yaml"]),
        "plan.json: inputs must be an object",
    ),
    (
        "plan-input-spec-is-a-number",
        setitem("inputs|specs", [1]),
        "plan.json: inputs.specs[0] must be a string, not an integer",
    ),
    (
        "plan-input-specs-is-empty",
        setitem("inputs|specs", []),
        "plan.json: inputs.specs must be a non-empty array of spec paths",
    ),
    (
        "plan-vars-is-a-list",
        setitem("inputs|vars", ["a=b"]),
        "plan.json: inputs.vars must be an object, not an array",
    ),
    (
        "plan-var-is-a-number",
        setitem("inputs|vars", {"n": 1}),
        "plan.json: inputs.vars.n must be a string, not an integer",
    ),
    (
        "plan-targets-is-a-string",
        setitem("inputs|targets", "a*"),
        "plan.json: inputs.targets must be an array of globs, not a string",
    ),
]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    capsys.readouterr()
    code = main(list(args))
    return code, capsys.readouterr().err


def assert_refused(code: int, err: str, expected: str, before: dict[str, bytes], tree: Any) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 1, err
    assert expected in err, err
    assert tree.listing() == before  # nothing written, nothing rendered


def test_the_base_lockfile_is_good(tree, capsys) -> None:
    """So that each case fails for what it breaks, not for something in BASE."""
    tree.spec(SPEC)
    tree.write("spec.lock", lock_bytes(BASE))
    tree.write("spec.lock.journal", GOOD_LINE)
    code, err = run(capsys, "plan", "spec.yaml")
    assert (code, err) == (0, "")


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in LOCK_CASES], ids=[c[0] for c in LOCK_CASES]
)
def test_a_malformed_lockfile(tree, capsys, command: str, raw: bytes, expected: str) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", raw)
    before = tree.listing()
    args = ["apply", "spec.yaml", "--yes"] if command == "apply" else ["plan", "spec.yaml"]
    code, err = run(capsys, *args)
    assert_refused(code, err, expected, before, tree)
    if "not a reelform lockfile" not in expected:  # an array: nothing to repair
        assert "`reelform lock repair spec.yaml` keeps every good record" in err
    assert "move it away" not in err


@pytest.mark.parametrize("command", ["plan", "apply"])
@pytest.mark.parametrize(
    ("raw", "expected"), [c[1:] for c in JOURNAL_CASES], ids=[c[0] for c in JOURNAL_CASES]
)
def test_a_malformed_journal(tree, capsys, command: str, raw: bytes, expected: str) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", lock_bytes(BASE))
    tree.write("spec.lock.journal", raw)
    before = tree.listing()
    args = ["apply", "spec.yaml", "--yes"] if command == "apply" else ["plan", "spec.yaml"]
    code, err = run(capsys, *args)
    assert_refused(code, err, expected, before, tree)
    assert "`reelform lock repair spec.yaml` keeps every good record" in err
    assert "move it away" not in err


@pytest.mark.parametrize(
    ("change", "expected"), [c[1:] for c in PLAN_CASES], ids=[c[0] for c in PLAN_CASES]
)
def test_a_malformed_saved_plan(
    tree, capsys, change: Callable[[dict[str, Any]], Any], expected: str
) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", lock_bytes(BASE))
    assert run(capsys, "plan", "spec.yaml", "--out", "plan.json")[0] == 0
    document = orjson.loads(Path("plan.json").read_bytes())
    change(document)
    tree.write("plan.json", orjson.dumps(document, option=orjson.OPT_INDENT_2))
    before = tree.listing()
    code, err = run(capsys, "apply", "plan.json", "--yes")
    assert_refused(code, err, expected, before, tree)
