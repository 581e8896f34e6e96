"""`reelform validate` and `reelform plan` as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from reelform.cli import main
from reelform.state.lockfile import LockState, write_lock
from reelform.state.records import Status, VideoOutput, VideoRecord

REELFORM = Path(sys.executable).with_name("reelform")
GOOD = """
version: 1
provider: jogg
vars: {greeting: Hello}
data: {people: [{id: "1", name: Ann}, {id: "2", name: Bob}]}
defaults: {avatar: {id: 81}, voice: {voice_id: en-US-1}}
videos:
  - name: "hi-{{ row.id }}"
    for_each: people
    voice: {script: "{{ vars.greeting }} {{ row.name }}, welcome aboard"}
  - {name: intro, voice: {script: one two three four five six seven eight nine ten}}
"""


@pytest.fixture(autouse=True)
def plain_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_validate_ok(tree, capsys) -> None:
    tree.spec(GOOD)
    assert run(capsys, "validate", "spec.yaml") == (0, "ok  spec.yaml: 3 videos\n", "")


def test_validate_quiet_and_default_folder(tree, capsys) -> None:
    tree.write("specs/a.yaml", GOOD)
    tree.write("specs/templates/x.yaml", "not: a spec")
    assert run(capsys, "validate") == (0, "ok  specs/a.yaml: 3 videos\n", "")
    assert run(capsys, "validate", "-q", "specs") == (0, "", "")


def test_validate_without_specs_folder(tree, capsys) -> None:
    assert run(capsys, "validate") == (1, "", "no SPEC given and there is no `specs` folder here\n")


def test_all_problems_of_a_spec_in_one_run(tree, capsys) -> None:
    tree.spec("""
        version: 1
        provider: jogg
        assets: {a: missing.wav}
        data: {people: [{id: "1"}]}
        defaults: {avatar: {id: 81}, voice: {voice_id: v}}
        videos:
          - {name: "hi-{{ row.id }}", for_each: people, voice: {script: "{{ row.nmae }}"}}
          - {name: b, voice: {script: x}, aspect: wide}
          - {name: c, voice: {audio: intro}}
          - {name: d, voice: {script: x}, titel: T}
    """)
    code, out, err = run(capsys, "validate", "spec.yaml")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "spec.yaml:3:13: asset 'a': file 'missing.wav' not found",
        "spec.yaml:7:65: 'dict object' has no attribute 'nmae' (row has: id) "
        "(template line 1) (row spec.yaml:4)",
        "spec.yaml:8:43: Input should be 'portrait', 'landscape' or 'square', got 'wide'",
        "spec.yaml:9:30: unknown asset 'intro' (known: a)",
        "spec.yaml:10:35: unknown key 'titel'; did you mean 'title'?",
    ]
    assert "Traceback" not in err


def test_problems_of_two_specs_in_one_run(tree, capsys) -> None:
    tree.write(
        "specs/one.yaml",
        "version: 1\nvideos:\n  - {name: a, voice: {script: x}, captions: maybe}\n",
    )
    tree.write("specs/two.yaml", "version: 1\nvideos: []\n")
    tree.write("specs/three.yaml", GOOD)
    code, out, err = run(capsys, "validate", "specs")
    assert (code, out) == (1, "")
    assert err.splitlines() == [
        "specs/one.yaml:3:45: Input should be a valid boolean, unable to interpret input, "
        "got 'maybe'",
        "specs/two.yaml:2:9: `videos` is empty: declare at least one video",
    ]


def test_var_through_the_cli(tree, capsys) -> None:
    tree.spec(
        "version: 1\nvars: {n: x}\nvideos:\n  - {name: 'v-{{ vars.n }}', voice: {script: x}}\n"
    )
    assert run(capsys, "validate", "spec.yaml", "--var", "n=a/b")[2] == (
        "spec.yaml:4:12: invalid name 'v-a/b': use letters, digits, '.', '_' and '-', "
        "starting with a letter or digit, at most 128 characters\n"
    )
    code, out, _ = run(capsys, "plan", "spec.yaml", "--var", "n=ok", "--json")
    assert code == 0 and json.loads(out)["specs"][0]["items"][0]["name"] == "v-ok"


def test_bad_var(tree, capsys) -> None:
    tree.spec(GOOD)
    assert run(capsys, "plan", "spec.yaml", "--var", "novalue") == (
        1,
        "",
        "--var 'novalue': expected NAME=VALUE\n",
    )


def test_plan_text_and_detailed_exit_codes(tree, capsys) -> None:
    tree.spec(GOOD)
    code, out, err = run(capsys, "plan", "spec.yaml", "--detailed-exitcode")
    assert (code, err) == (2, "")
    assert out == (
        "spec.yaml  (lock: spec.lock)\n"
        "  + create    hi-1        jogg    ~2 s\n"
        "  + create    hi-2        jogg    ~2 s\n"
        "  + create    intro       jogg    ~4 s\n"
        "\n"
        "Plan: 3 to create, 0 unchanged.\n"
        "Estimate: 3 videos to render, ~7 s of video, 3 JoggAI credits.\n"
    )
    assert run(capsys, "plan", "spec.yaml")[0] == 0


def completed_lock(tree) -> None:
    """Mark every video of spec.yaml done, with outputs, through the real plan."""
    from reelform.project import prepare

    prepared = prepare(Path("spec.yaml"))
    state = LockState()
    for request in prepared.requests:
        path = tree.write(f"out/{request.name}.mp4", b"mp4")
        state.videos[request.name] = VideoRecord(
            fingerprint=request.fingerprint,
            inputs=request.inputs,
            status=Status.COMPLETED,
            provider=request.provider,
            output=VideoOutput(
                path=f"out/{request.name}.mp4",
                bytes=3,
                mtime_ns=path.stat().st_mtime_ns,
                sha256="x",
            ),
        )
    write_lock(Path("spec.lock"), state)


def test_plan_no_changes(tree, capsys) -> None:
    tree.spec(GOOD)
    completed_lock(tree)
    assert run(capsys, "plan", "spec.yaml", "--detailed-exitcode") == (
        0,
        "spec.yaml  (lock: spec.lock)\n  = 3 unchanged\n\nNo changes. The videos are up to date.\n",
        "",
    )


def test_plan_json_shape(tree, capsys) -> None:
    tree.spec(GOOD)
    code, out, _ = run(capsys, "plan", "spec.yaml", "--json")
    document = json.loads(out)
    assert code == 0
    assert {k: document[k] for k in ("format", "version", "changes", "estimate")} == {
        "format": "reelform-plan",
        "version": 1,
        "changes": True,
        "estimate": {"videos": 3, "seconds": 7.2, "jogg_credits": 3},
    }
    assert document["summary"]["create"] == 3 and document["summary"]["unchanged"] == 0
    [spec] = document["specs"]
    assert (spec["spec"], spec["lock"]) == ("spec.yaml", "spec.lock")
    assert [(i["action"], i["name"], i["credits"]) for i in spec["items"]] == [
        ("create", "hi-1", 1),
        ("create", "hi-2", 1),
        ("create", "intro", 1),
    ]
    assert all(len(i["fingerprint"]) == 64 and i["key"].startswith("rf-") for i in spec["items"])


def test_plan_markdown(tree, capsys) -> None:
    tree.spec(GOOD)
    code, out, _ = run(capsys, "plan", "spec.yaml", "--format", "markdown")
    assert code == 0
    assert out.startswith("## reelform plan\n\n| action | count |\n|---|---:|\n| create | 3 |\n")
    assert "| `+` create | `intro` | jogg | ~4 s |" in out


def test_plan_out_writes_a_plan_file(tree, capsys) -> None:
    tree.spec(GOOD)
    code, _, err = run(
        capsys, "plan", "spec.yaml", "--out", "review.plan", "--var", "x=1", "--target", "hi-*"
    )
    assert code == 0
    assert err == "Saved the plan to review.plan; apply it with: reelform apply review.plan\n"
    saved = json.loads(Path("review.plan").read_text())
    assert saved["format"] == "reelform-plan"
    assert saved["inputs"] == {
        "specs": ["spec.yaml"],
        "vars": {"x": "1"},
        "targets": ["hi-*"],
        "resubmit_unknown": False,
        "no_reuse": False,
    }
    assert [i["name"] for i in saved["specs"][0]["items"]] == ["hi-1", "hi-2"]
    from reelform.plan.saved import is_plan_file, load_saved_plan

    assert is_plan_file(Path("review.plan"))
    assert load_saved_plan(Path("review.plan")).targets == ["hi-*"]


def test_plan_writes_nothing(tree, capsys) -> None:
    tree.spec(GOOD)
    before = tree.listing()
    assert run(capsys, "plan", "spec.yaml", "--json")[0] == 0
    assert run(capsys, "validate", "spec.yaml")[0] == 0
    assert tree.listing() == before
    assert not Path("out").exists() and not Path("spec.lock").exists()


def test_plan_does_not_touch_a_corrupt_lockfile(tree, capsys) -> None:
    tree.spec(GOOD)
    tree.write("spec.lock", '{\n  "version": 1,\n  "videos": {"a": \n')
    before = tree.listing()
    code, out, err = run(capsys, "plan", "spec.yaml")
    assert (code, out) == (1, "")
    assert err.startswith("spec.lock:4:1: corrupt lockfile")
    assert "Traceback" not in err
    assert tree.listing() == before


def test_no_color_when_not_a_tty_or_no_color(tree, capsys, monkeypatch) -> None:
    tree.spec(GOOD)
    assert "\x1b[" not in run(capsys, "plan", "spec.yaml")[1]
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setenv("FORCE_COLOR", "1")
    assert "\x1b[" not in run(capsys, "plan", "spec.yaml")[1]


def test_force_color(tree, capsys, monkeypatch) -> None:
    tree.spec(GOOD)
    monkeypatch.setenv("FORCE_COLOR", "1")
    out = run(capsys, "plan", "spec.yaml")[1]
    assert "\x1b[32m+ create   \x1b[0m" in out and "\x1b[1mspec.yaml\x1b[0m" in out


def test_target_filters_the_text_plan(tree, capsys) -> None:
    tree.spec(GOOD)
    out = run(capsys, "plan", "spec.yaml", "--target", "intro")[1]
    assert "intro" in out and "hi-1" not in out


def test_console_script_exit_codes_and_no_traceback(tree) -> None:
    tree.spec("version: 1\nvideos:\n  - {name: a, voice: {script: '{{ x'}}\n")
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "NO_COLOR")}
    result = subprocess.run(
        [str(REELFORM), "validate", "spec.yaml"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "spec.yaml:3:31: template syntax: unexpected end of template, "
        "expected 'end of print statement'. (template line 1)\n"
    )
    assert result.stdout == ""


def test_plan_out_to_a_missing_folder_is_a_user_error(tree, capsys) -> None:
    tree.spec(GOOD)
    code, _, err = run(capsys, "plan", "spec.yaml", "--out", "nowhere/review.plan")
    assert code == 1
    assert err.splitlines()[-1] == (
        "--out nowhere/review.plan: cannot write the plan: No such file or directory"
    )
    assert "Traceback" not in err


def test_a_folder_without_specs_is_an_error(tree, capsys) -> None:
    tree.write("specs/data/rows.yaml", "- {a: 1}\n")
    assert run(capsys, "validate", "specs") == (
        1,
        "",
        "specs: no specs (*.yaml, *.yml) in this folder\n",
    )


def test_missing_target(tree, capsys) -> None:
    assert run(capsys, "plan", "nope.yaml") == (1, "", "nope.yaml: no such file or folder\n")


def test_plan_refuses_a_newer_lockfile_and_leaves_it(tree, capsys) -> None:
    tree.spec(GOOD)
    tree.write("spec.lock", '{"version": 2, "videos": {}}\n')
    before = tree.listing()
    code, out, err = run(capsys, "plan", "spec.yaml")
    assert (code, out) == (1, "")
    assert err == (
        "spec.lock: written by a newer reelform (lockfile version 2, this reelform "
        "reads up to 1); upgrade reelform. The lockfile was not modified.\n"
    )
    assert tree.listing() == before


def test_plan_refuses_a_corrupt_journal_and_leaves_it(tree, capsys) -> None:
    tree.spec(GOOD)
    tree.write(
        "spec.lock.journal",
        '{"k":"a","s":"videos","v":{}}\nnot json\n{"k":"b","s":"videos","v":{}}\n',
    )
    before = tree.listing()
    code, _, err = run(capsys, "plan", "spec.yaml")
    assert code == 1
    assert err.startswith("spec.lock.journal:2: corrupt journal record")
    assert tree.listing() == before


def test_plan_replays_the_journal(tree, capsys) -> None:
    from reelform.project import prepare

    tree.spec(GOOD)
    [intro] = [r for r in prepare(Path("spec.yaml")).requests if r.name == "intro"]
    record = {
        "k": "intro",
        "s": "videos",
        "v": {"status": "submitted", "job_id": "j9", "fingerprint": intro.fingerprint},
    }
    tree.write("spec.lock.journal", json.dumps(record) + "\n")
    out = run(capsys, "plan", "spec.yaml")[1]
    assert "  > resume    intro       jogg    job j9\n" in out
    assert "Plan: 2 to create, 1 to resume, 0 unchanged." in out


def test_var_value_that_is_not_utf8(tree) -> None:
    tree.spec("version: 1\nvideos:\n  - {name: a, voice: {script: 'hi {{ vars.x }}'}}\n")
    result = subprocess.run(
        [str(REELFORM), "plan", "spec.yaml", b"--var", b"x=\xff"], capture_output=True, timeout=60
    )
    assert (result.returncode, result.stderr) == (1, b"--var x: the value is not UTF-8 text\n")


def test_two_specs_sharing_a_lockfile(tree, capsys) -> None:
    tree.write("specs/a.yaml", GOOD)
    tree.write("specs/a.yml", GOOD)
    code, out, err = run(capsys, "plan", "specs")
    assert (code, out) == (1, "")
    assert err.splitlines()[0] == (
        "specs/a.yml:1:1: shares its lockfile specs/a.lock with specs/a.yaml; rename one of them"
    )


def test_two_specs_writing_the_same_output_file(tree, capsys) -> None:
    tree.write(
        "specs/a.yaml", "version: 1\nname: same\nvideos:\n  - {name: intro, voice: {script: x}}\n"
    )
    tree.write(
        "specs/b.yaml",
        "version: 1\nname: same\nvideos:\n"
        "  - {name: intro, voice: {script: y}}\n"
        "  - {name: other, voice: {script: y}}\n",
    )
    tree.write(
        "specs/c.yaml",
        "version: 1\nname: c\noutput: out/same\nvideos:\n  - {name: third, voice: {script: y}}\n",
    )
    assert run(capsys, "validate", "specs") == (
        1,
        "",
        "specs/b.yaml:4:12: video 'intro' is also made by specs/a.yaml, into the same "
        "output folder specs/out/same\n",
    )


def test_many_clashing_outputs_are_counted(tree, capsys) -> None:
    videos = "".join(f"  - {{name: v{i}, voice: {{script: x}}}}\n" for i in range(6))
    tree.write("specs/a.yaml", "version: 1\nname: same\nvideos:\n" + videos)
    tree.write("specs/b.yaml", "version: 1\nname: same\nvideos:\n" + videos)
    err = run(capsys, "validate", "specs")[2].splitlines()
    assert err[0] == (
        "specs/b.yaml:1:1: 3 more videos are also made by specs/a.yaml into specs/out/same"
    )
    assert len(err) == 4
