"""The watcher's small helpers: which folders to watch, and events as Changes."""

from __future__ import annotations

from pathlib import Path

import watchfiles

from reelform.watch.affected import Change, ChangeKind
from reelform.watch.loop import changes_of, watch_roots
from reelform.watch.session import Session


def test_watch_roots_are_the_fewest_existing_folders(tmp_path: Path) -> None:
    (tmp_path / "specs/data").mkdir(parents=True)
    (tmp_path / "templates").mkdir()
    paths = [
        tmp_path / "specs/a.yaml",
        tmp_path / "specs/data/people.csv",
        tmp_path / "specs/data/missing/later.csv",
        tmp_path / "templates/x.j2",
        tmp_path / "templates",
    ]
    assert watch_roots(paths) == [tmp_path / "specs", tmp_path / "templates"]


def test_a_save_by_rename_is_one_change(tmp_path: Path) -> None:
    kept = tmp_path / "a.yaml"
    kept.write_text("x")
    raw = {
        (watchfiles.Change.deleted, str(kept)),
        (watchfiles.Change.added, str(kept)),
        (watchfiles.Change.modified, str(tmp_path)),
    }  # the folder itself: dropped
    assert changes_of(raw) == [Change(kept, ChangeKind.MODIFIED)]
    gone = tmp_path / "b.yaml"
    raw = {(watchfiles.Change.added, str(gone)), (watchfiles.Change.deleted, str(gone))}
    assert changes_of(raw) == [Change(gone, ChangeKind.DELETED)]


def test_vars_given_to_watch_reach_the_templates(repo: Path) -> None:
    (repo / "specs/v.yaml").write_text(
        "version: 1\nvars: {who: nobody}\nvideos:\n  - name: 'for-{{ vars.who }}'\n"
        "    avatar: {id: 1}\n    voice: {script: Hi, voice_id: en}\n"
    )
    text = Session([Path("specs/v.yaml")], {"who": "everyone"}).start().text
    assert "for-everyone" in text and "for-nobody" not in text
