"""Which specs a change re-plans: the pure routing, one rule per test."""

from __future__ import annotations

from pathlib import Path

from reelform.watch.affected import (
    Change,
    ChangeKind,
    Routing,
    Watched,
    describe,
    is_spec_file,
    route,
)

ROOT = Path("/repo")
A = ROOT / "specs/a.yaml"
B = ROOT / "specs/b.yaml"
SHARED = ROOT / "templates/shared.j2"
ONLY_A = ROOT / "specs/templates/a.j2"
CSV = ROOT / "specs/data/people.csv"
SPECS = {
    A: Watched(frozenset({A, SHARED, ONLY_A, CSV})),
    B: Watched(frozenset({B, SHARED})),
}
FOLDERS = [ROOT / "specs"]


def changed(path: Path, kind: ChangeKind = ChangeKind.MODIFIED) -> Routing:
    return route([Change(path, kind)], SPECS, FOLDERS)


def test_a_spec_change_replans_that_spec() -> None:
    assert changed(A).replan == {A}


def test_a_template_change_replans_the_specs_that_include_it() -> None:
    assert changed(SHARED).replan == {A, B}
    assert changed(ONLY_A).replan == {A}


def test_a_data_file_change_replans_the_specs_that_read_it() -> None:
    assert changed(CSV).replan == {A}


def test_an_unrelated_file_replans_nothing() -> None:
    assert not changed(ROOT / "specs/out/a/video.mp4")
    assert not changed(ROOT / "README.md")


def test_a_new_spec_file_in_a_watched_folder_is_added() -> None:
    new = ROOT / "specs/sub/c.yml"
    routing = changed(new, ChangeKind.ADDED)
    assert routing.added == {new} and not routing.replan


def test_yaml_in_templates_or_data_folders_is_not_a_spec() -> None:
    assert not changed(ROOT / "specs/data/rows.yaml", ChangeKind.ADDED).added
    assert not is_spec_file(ROOT / "specs/templates/x.yaml", FOLDERS)
    assert not is_spec_file(ROOT / "elsewhere/x.yaml", FOLDERS)


def test_a_deleted_spec_is_removed_not_replanned() -> None:
    routing = changed(A, ChangeKind.DELETED)
    assert routing.removed == {A} and not routing.replan


def test_a_new_template_replans_every_spec_that_searches_its_folder() -> None:
    # It may shadow ../templates/x.j2, or be the one a failing spec could not find.
    routing = changed(ROOT / "templates/new.j2", ChangeKind.ADDED)
    assert routing.replan == {A, B}
    assert changed(ROOT / "specs/templates/new.j2", ChangeKind.ADDED).replan == {A, B}


def test_an_unused_template_edit_replans_only_failing_specs() -> None:
    specs = {**SPECS, B: Watched(frozenset({B}), failing=True)}
    routing = route([Change(ROOT / "templates/other.j2", ChangeKind.MODIFIED)], specs, FOLDERS)
    assert routing.replan == {B}


def test_a_failing_spec_keeps_its_last_known_dependencies() -> None:
    specs = {**SPECS, A: Watched(SPECS[A].dependencies, failing=True)}
    assert route([Change(CSV, ChangeKind.MODIFIED)], specs, FOLDERS).replan == {A}


def test_a_batch_is_the_union_of_its_changes() -> None:
    routing = route(
        [Change(CSV, ChangeKind.MODIFIED), Change(B, ChangeKind.MODIFIED)], SPECS, FOLDERS
    )
    assert routing.replan == {A, B}


def test_describe_names_what_changed() -> None:
    assert describe([Change(SHARED, ChangeKind.MODIFIED)], ROOT) == "templates/shared.j2 changed"
    many = [Change(ROOT / f"specs/{n}.yaml", ChangeKind.ADDED) for n in "abcd"]
    assert describe(many, ROOT) == "specs/a.yaml, specs/b.yaml added and 2 more"
    mixed = [Change(A, ChangeKind.DELETED), Change(CSV, ChangeKind.MODIFIED)]
    assert describe(mixed, ROOT) == "specs/a.yaml, specs/data/people.csv changed"
