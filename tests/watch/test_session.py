"""The watch session without a watcher: batches of changes in, plans out."""

from __future__ import annotations

import re
from pathlib import Path

from watchkit import write

from reelform.watch.affected import Change, ChangeKind
from reelform.watch.session import Session


def change(path: Path, kind: ChangeKind = ChangeKind.MODIFIED) -> list[Change]:
    return [Change(path.resolve(), kind)]


def test_start_plans_every_spec(repo: Path) -> None:
    batch = Session([Path("specs")]).start()
    assert "watching 3 specs" in batch.header
    for name in ("hello-1", "hello-2", "solo", "other"):
        assert name in batch.text


def test_a_template_change_replans_only_the_specs_including_it(repo: Path) -> None:
    session = Session([Path("specs")])
    session.start()
    template = write(repo / "templates/greeting.txt.j2", "Welcome")
    batch = session.update(change(template))
    assert batch is not None
    assert "templates/greeting.txt.j2 changed · 2 specs" in batch.header
    assert "specs/a.yaml" in batch.text and "specs/b.yaml" in batch.text
    assert "specs/c.yaml" not in batch.text


def test_a_csv_change_replans_the_spec_reading_it(repo: Path) -> None:
    session = Session([Path("specs")])
    session.start()
    csv = write(repo / "specs/data/people.csv", "id,name\n1,Ann\n2,Bob\n3,Cy\n")
    batch = session.update(change(csv))
    assert batch is not None and "· 1 spec " in batch.header + " "
    assert "hello-3" in batch.text and "solo" not in batch.text


def test_a_broken_spec_reports_and_recovers_through_its_dependencies(repo: Path) -> None:
    session = Session([Path("specs")])
    session.start()
    spec = repo / "specs/a.yaml"
    good = spec.read_text()
    spec.write_text(good.replace("for_each: people", "for_each: [people"))
    batch = session.update(change(spec))
    assert batch is not None
    assert re.search(r"^specs/a\.yaml:\d+:\d+: YAML syntax", batch.text, re.M)
    assert "1 spec has errors (still watching)." in batch.text
    # Still watched through what it read before it broke: the CSV re-plans it.
    csv = write(repo / "specs/data/people.csv", "id,name\n7,Zed\n")
    assert session.update(change(csv)) is not None
    spec.write_text(good)
    batch = session.update(change(spec))
    assert batch is not None and "hello-7" in batch.text and "errors" not in batch.text


def test_a_missing_template_is_picked_up_when_it_appears(repo: Path) -> None:
    write(repo / "specs/d.yaml", SPEC_D)
    session = Session([Path("specs")])
    assert re.search(r"^specs/d\.yaml:\d+:\d+: .*late\.j2", session.start().text, re.M)
    late = write(repo / "specs/templates/late.j2", "Finally")
    batch = session.update(change(late, ChangeKind.ADDED))
    assert batch is not None and "delta" in batch.text and "errors" not in batch.text


SPEC_D = """\
version: 1
videos:
  - name: delta
    avatar: {id: 1}
    voice: {script: "{% include 'late.j2' %}", voice_id: en}
"""


def test_new_and_deleted_specs(repo: Path) -> None:
    session = Session([Path("specs")])
    session.start()
    new = write(
        repo / "specs/more/e.yaml",
        SPEC_D.replace("delta", "echo").replace("{% include 'late.j2' %}", "Hi"),
    )
    batch = session.update(change(new, ChangeKind.ADDED))
    assert batch is not None and "echo" in batch.text
    new.unlink()
    batch = session.update(change(new, ChangeKind.DELETED))
    assert batch is not None and "removed; no longer watched" in batch.text
    assert "1 spec removed" in batch.header


def test_irrelevant_changes_print_nothing(repo: Path) -> None:
    session = Session([Path("specs")])
    session.start()
    noise = write(repo / "specs/out/a/hello-1.mp4", "x")
    assert session.update(change(noise, ChangeKind.ADDED)) is None


def test_an_apply_elsewhere_replans_through_the_lockfile(repo: Path) -> None:
    session = Session([Path("specs/c.yaml")])
    session.start()
    lock = write(repo / "specs/c.lock", '{"version": 1, "videos": {}}\n')
    assert session.update(change(lock, ChangeKind.ADDED)) is not None
