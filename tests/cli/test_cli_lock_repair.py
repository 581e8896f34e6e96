"""`reelform lock repair SPEC`: keep every good record, drop and name the bad ones."""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import pytest

from reelform.cli import main
from reelform.state.lock import spec_lock
from reelform.state.lockfile import dump_json, read_lock

SPEC = """
version: 1
provider: local
defaults: {avatar: {id: 1}, voice: {voice_id: en}}
videos:
  - {name: a, voice: {script: one two}}
  - {name: b, voice: {script: three}}
"""


def line(key: str, value: object) -> bytes:
    return orjson.dumps({"k": key, "s": "videos", "v": value}) + b"\n"


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def lockfile(**records: dict[str, object]) -> bytes:
    return dump_json({"videos": records})


def videos(lock: str = "spec.lock") -> dict[str, dict[str, object]]:
    """The videos of the lockfile as read, as JSON: what repair kept, field by field."""
    return {key: record.to_json() for key, record in read_lock(Path(lock)).videos.items()}


def test_a_corrupt_journal_record_mid_way_is_dropped_and_named(tree, capsys) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", lockfile(a={"status": "completed", "job_id": "j-a"}))
    tree.write(
        "spec.lock.journal",
        line("b", {"status": "submitting"})
        + b'{"k":"b","s":"videos","v":{"status":"submitted","job_id":"j-b1"\n'  # fused
        + line("c", {"status": "submitted", "job_id": "j-c"}),
    )
    code, _, err = run(capsys, "plan", "spec.yaml")
    assert code == 1
    assert err.startswith("spec.lock.journal:2: corrupt journal record (not JSON)")
    assert "reelform lock repair spec.yaml" in err

    code, out, err = run(capsys, "lock", "repair", "spec.yaml")
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        'spec.lock.journal:2: dropped a line: not JSON: {"k":"b","s":"videos","v":'
        '{"status":"submitted","job_id":"j-b1"',
        "Kept 3 records (1 from spec.lock, 2 from spec.lock.journal); dropped 1.",
        "Wrote spec.lock; the journal was folded into it. "
        "`reelform plan spec.yaml` shows what apply would do now.",
    ]
    assert not Path("spec.lock.journal").exists()
    assert videos() == {
        "a": {"status": "completed", "job_id": "j-a"},
        "b": {"status": "submitting"},  # the dropped record's job id is in the excerpt above
        "c": {"status": "submitted", "job_id": "j-c"},
    }
    assert run(capsys, "plan", "spec.yaml")[0] == 0


def test_records_of_the_wrong_shape_are_dropped_by_name(tree, capsys) -> None:
    tree.spec(SPEC)
    tree.write(
        "spec.lock",
        lockfile(
            a={"status": "completed", "job_id": {"id": 1}},
            b={"status": "submitted", "job_id": "j-b"},
        ),
    )
    tree.write("spec.lock.journal", line("c", [1]) + line("d", {"status": "failed"}))
    code, out, _ = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 0
    assert out.splitlines()[:3] == [
        'spec.lock:7: dropped videos["a"]: job_id must be a string (or null), not an object: '
        '{"job_id":{"id":1},"status":"completed"}',
        'spec.lock.journal:1: dropped videos["c"]: must be an object, not an array: '
        '{"k":"c","s":"videos","v":[1]}',
        "Kept 2 records (1 from spec.lock, 1 from spec.lock.journal); dropped 2.",
    ]
    assert set(videos()) == {"b", "d"}


def test_a_lockfile_that_is_not_json_is_read_line_by_line(tree, capsys) -> None:
    """A merge conflict in a committed lockfile: every whole record survives."""
    tree.spec(SPEC)
    ours = b'    "a": {"job_id":"j-a1","status":"completed"},\n'
    theirs = b'    "a": {"job_id":"j-a2","status":"completed"},\n'
    tree.write(
        "spec.lock",
        b'{\n  "version": 1,\n  "files": {},\n  "uploads": {},\n  "avatars": {},\n'
        b'  "videos": {\n<<<<<<< HEAD\n'
        + ours
        + b"=======\n"
        + theirs
        + b'>>>>>>> other\n    "b": {"job_id":"j-b","status":"submitted"}\n  }\n}\n',
    )
    assert run(capsys, "plan", "spec.yaml")[0] == 1
    code, out, _ = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 0
    assert out.splitlines()[:6] == [
        "spec.lock:7:1: not valid JSON (unexpected character, expected a string key); read "
        "it line by line",
        "spec.lock:7: dropped a line: not a whole record: <<<<<<< HEAD",
        'spec.lock:8: dropped videos["a"]: the same record again at line 10; keeping that '
        'one: {"job_id":"j-a1","status":"completed"}',
        "spec.lock:9: dropped a line: not a whole record: =======",
        "spec.lock:11: dropped a line: not a whole record: >>>>>>> other",
        "Kept 2 records (2 from spec.lock, 0 from spec.lock.journal); dropped 4.",
    ]
    assert videos() == {
        "a": {"job_id": "j-a2", "status": "completed"},
        "b": {"job_id": "j-b", "status": "submitted"},
    }


def test_nothing_damaged_changes_nothing(tree, capsys) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", lockfile(a={"status": "completed"}))
    # A torn last record is a crash mid-append: every reader ignores it, so does repair.
    tree.write("spec.lock.journal", line("b", {"status": "submitting"}) + b'{"k":"c","s":"vi')
    before = tree.listing()
    code, out, err = run(capsys, "lock", "repair", "spec.yaml")
    assert (code, out, err) == (0, "spec.lock: nothing is damaged; nothing was changed.\n", "")
    assert tree.listing() == before


def test_a_torn_tail_goes_with_the_damage_and_is_said(tree, capsys) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock.journal", b"GARBAGE\n" + line("b", {}) + b'{"k":"c","s":"vi')
    code, out, _ = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 0
    assert "spec.lock.journal: dropped its torn last record (a crash mid-append" in out
    assert videos() == {"b": {}}


def test_refuses_while_an_apply_runs(tree, capsys) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock.journal", b"GARBAGE\n" + line("b", {}))
    before = tree.listing()
    with spec_lock(Path("spec.lock"), "spec.yaml"):  # what a running apply holds
        code, out, err = run(capsys, "lock", "repair", "spec.yaml")
    assert (code, out) == (1, "")
    assert f"another apply is running (pid {os.getpid()} on " in err
    assert err.rstrip().endswith("repair it once that apply has finished")
    assert tree.listing() == before


def test_a_newer_lockfile_is_left_alone(tree, capsys) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", b'{"version": 2, "videos": {"a": 1}}')
    before = tree.listing()
    code, _, err = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 1 and "upgrade reelform" in err
    assert tree.listing() == before


def test_excerpts_never_show_a_secret(tree, capsys, monkeypatch) -> None:
    monkeypatch.setenv("JOGG_API_KEY", "sk-live-0123456789")
    tree.spec(SPEC)
    tree.write("spec.lock.journal", b"Authorization: Bearer sk-live-0123456789\n" + line("b", {}))
    code, out, _ = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 0
    assert "sk-live" not in out and "Bearer ***" in out


def test_a_failed_write_changes_nothing(tree, capsys, monkeypatch) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", lockfile(a={"status": "completed"}))
    tree.write("spec.lock.journal", b"GARBAGE\n" + line("b", {}))
    before = tree.listing()

    def full_disk(src: str, dst: str) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("reelform.atomic.os.replace", full_disk)
    code, _, err = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 1 and "Traceback" not in err
    assert "cannot write the repaired lockfile: No space left on device" in err
    assert tree.listing() == before


def test_nothing_to_repair(tree, capsys) -> None:
    tree.spec(SPEC)
    code, _, err = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 1 and "no lockfile (spec.lock) and no journal to repair" in err


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["lock", "--help"], ["repair", "journal", "job ids"]),
        (["lock", "repair", "--help"], ["SPEC...", "drop", "line", "atomically", "apply lock"]),
        (["--help"], ["lock"]),
    ],
)
def test_help(capsys, args: list[str], words: list[str]) -> None:
    code, out, _ = run(capsys, *args)
    assert code == 0
    for word in words:
        assert word in out


def test_a_lockfile_that_only_lost_its_json_syntax_is_rewritten(tree, capsys) -> None:
    """A trailing comma: every record is whole, none is dropped, the file is fixed."""
    tree.spec(SPEC)
    good = lockfile(a={"status": "completed"}, b={"status": "submitted"})
    tree.write("spec.lock", good.replace(b'"submitted"}\n', b'"submitted"},\n'))
    assert run(capsys, "plan", "spec.yaml")[0] == 1
    code, out, _ = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 0
    assert out.splitlines()[:2] == [
        "spec.lock:8:32: not valid JSON (trailing comma is not allowed); read it line by line",
        "Kept 2 records (2 from spec.lock, 0 from spec.lock.journal); dropped 0.",
    ]
    assert Path("spec.lock").read_bytes() == good


def test_an_empty_lockfile_is_not_taken_for_nothing_done(tree, capsys) -> None:
    tree.spec(SPEC)
    tree.write("spec.lock", b"\n")
    code, _, err = run(capsys, "lock", "repair", "spec.yaml")
    assert code == 1 and "spec.lock: empty, so there is no record in it to keep" in err
    assert Path("spec.lock").read_bytes() == b"\n"
