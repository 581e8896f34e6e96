"""`reelform watch` for real: a subprocess on a temporary repository, files edited
under it, and what it prints checked line by line."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from watchkit import SPEC_C, WatchProcess, edit, write

pytestmark = pytest.mark.slow


@pytest.fixture
def watch(repo: Path) -> Iterator[WatchProcess]:
    process = WatchProcess(["specs"], cwd=repo)
    yield process
    process.kill()


def test_watch_replans_what_changed_survives_errors_and_stops_cleanly(
    repo: Path, watch: WatchProcess
) -> None:
    rule, text = watch.ready()
    assert re.fullmatch(r"── \d\d:\d\d:\d\d · watching 3 specs ──", rule)
    assert "Plan: 4 to create" in text

    # A template: the two specs that include it, not the third.
    edit(repo / "templates/greeting.txt.j2", "Good morning")
    rule, text = watch.next_batch()
    assert re.fullmatch(
        r"── \d\d:\d\d:\d\d · templates/greeting\.txt\.j2 changed · 2 specs ──", rule
    )
    assert "specs/a.yaml" in text and "specs/b.yaml" in text and "specs/c.yaml" not in text

    # A CSV: the spec that reads it.
    edit(repo / "specs/data/people.csv", "id,name\n1,Ann\n2,Bob\n3,Cy\n")
    rule, text = watch.next_batch()
    assert "specs/data/people.csv changed · 1 spec ──" in rule
    assert "hello-3" in text and "specs/b.yaml" not in text

    # A broken spec: its error, FILE:LINE:COL, and the watcher goes on.
    edit(repo / "specs/c.yaml", SPEC_C.replace("videos:", "videos: [oops"))
    rule, text = watch.next_batch()
    assert "specs/c.yaml changed · 1 spec" in rule
    assert re.search(r"^specs/c\.yaml:\d+:\d+: YAML syntax", text, re.M), text
    assert watch.proc.poll() is None

    # Fixed: its plan again.
    edit(repo / "specs/c.yaml", SPEC_C.replace("Unrelated", "Related after all"))
    rule, text = watch.next_batch()
    assert "specs/c.yaml changed · 1 spec" in rule
    assert "+ create    other" in text and "errors" not in text

    assert watch.interrupt() in (0, 128 + signal.SIGINT)
    assert "Traceback" not in watch.output
    assert "Stopped watching." in watch.output


def test_a_new_spec_in_a_watched_folder_is_picked_up(repo: Path, watch: WatchProcess) -> None:
    watch.ready()
    edit(repo / "specs/extra/d.yaml", SPEC_C.replace("other", "newcomer"))
    rule, text = watch.next_batch()
    assert "specs/extra/d.yaml added · 1 spec ──" in rule
    assert "newcomer" in text
    assert watch.interrupt() in (0, 128 + signal.SIGINT)


JOGG_SPEC = """\
version: 1
provider: jogg
defaults:
  avatar: {id: 81}
  voice: {voice_id: en-US-ChristopherNeural}
  aspect: square
videos:
  - name: hi
    voice: {script: "Hi there"}
  - name: yo
    voice: {script: "Yo", voice_id: "jogg-voice-1234"}
"""


def test_preview_renders_locally_with_its_own_lockfile(tmp_path: Path) -> None:
    spec = write(tmp_path / "specs/promo.yaml", JOGG_SPEC)
    # Any call to JoggAI would fail: no key, and nothing listens on port 9.
    watch = WatchProcess(
        ["specs/promo.yaml", "--preview"],
        cwd=tmp_path,
        env={"JOGG_BASE_URL": "http://127.0.0.1:9", "JOGG_API_KEY": ""},
    )
    try:
        lines = watch.wait_for(lambda line: "preview:" in line, timeout=60)
        assert "specs/promo.yaml: preview: 2 rendered in specs/preview/promo/" in lines[-1], (
            watch.output
        )
        previews = sorted(p.name for p in (tmp_path / "specs/preview/promo").iterdir())
        assert previews == ["hi.mp4", "yo.mp4"]
        assert (tmp_path / "specs/preview/promo.lock").is_file()
        assert not spec.with_suffix(".lock").exists()  # the real lockfile: untouched
        assert not (tmp_path / "specs/out").exists()

        # Half size: the local renderer's square frame is 1080 px, the preview's 540.
        import av

        with av.open(str(tmp_path / "specs/preview/promo/hi.mp4")) as container:
            stream = container.streams.video[0]
            assert (stream.width, stream.height) == (540, 540)

        # A change previews only what it changed.
        watch.wait_for(lambda line: line.startswith("Watching "))
        time.sleep(0.5)
        edit(spec, JOGG_SPEC.replace('"Yo"', '"Yo again"'))
        lines = watch.wait_for(lambda line: "preview:" in line, timeout=60)
        assert "preview: 1 rendered in" in lines[-1], watch.output

        # A video gone from the spec: its preview goes too.
        edit(spec, JOGG_SPEC.split("  - name: yo")[0])
        lines = watch.wait_for(lambda line: "preview:" in line, timeout=60)
        assert "preview: 0 rendered, 1 removed in" in lines[-1], watch.output
        assert sorted(p.name for p in (tmp_path / "specs/preview/promo").iterdir()) == ["hi.mp4"]
        assert watch.interrupt() in (0, 128 + signal.SIGINT)
        assert "Traceback" not in watch.output
    finally:
        watch.kill()


def test_a_data_file_outside_the_watched_folders_is_watched_once_used(
    repo: Path, watch: WatchProcess
) -> None:
    write(repo / "shared/rows.csv", "id\n1\n")
    watch.ready()
    edit(
        repo / "specs/c.yaml",
        SPEC_C.replace("videos:", "data: {rows: ../shared/rows.csv}\nvideos:").replace(
            "  - name: other", '  - name: "row-{{ row.id }}"\n    for_each: rows'
        ),
    )
    rule, text = watch.next_batch()
    assert "row-1" in text
    # + shared/, armed before this line is printed
    watch.wait_for(lambda line: line.startswith("Watching 3 folders"))
    edit(repo / "shared/rows.csv", "id\n1\n2\n")
    rule, text = watch.next_batch()
    assert "shared/rows.csv changed · 1 spec ──" in rule and "row-2" in text
    assert watch.interrupt() in (0, 128 + signal.SIGINT)
