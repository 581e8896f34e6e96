"""The bad-input corpus: every folder here is a broken spec and what reelform must say.

Each case folder holds the files of one small project (spec.yaml, data/, templates/,
assets/), ``expected.txt`` with the exact lines `reelform validate` must print on
stderr (paths relative to the case folder), and optionally ``args.txt`` with the
command-line arguments, one per line (default: ``spec.yaml``). reelform runs with
the case folder as its working directory, must exit 1 with nothing on stdout, no
traceback, and must leave every file as it was.

To add a case: make the folder, write expected.txt by hand (what a user *should*
read), and run this test. If a message reads badly, fix reelform, not the case.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from reelform.cli import main

CORPUS = Path(__file__).resolve().parent
CASES = sorted(p for p in CORPUS.iterdir() if (p / "expected.txt").is_file())


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else b"<folder>"
        for p in sorted(folder.rglob("*"))
    }


def test_the_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", CASES, ids=lambda p: p.name)
def test_bad_input(
    case: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    args_file = case / "args.txt"
    args = (
        args_file.read_text(encoding="utf-8").splitlines() if args_file.is_file() else ["spec.yaml"]
    )
    expected = (case / "expected.txt").read_text(encoding="utf-8").splitlines()
    monkeypatch.chdir(case)
    before = snapshot(case)

    code = main(["validate", *args])

    out, err = capsys.readouterr()
    assert err.splitlines() == expected
    assert (code, out) == (1, "")
    assert "Traceback" not in err
    assert snapshot(case) == before, "validate wrote or changed files"
