"""`reelform review` as a user runs it: a static build, previews, and bad input."""

from __future__ import annotations

import re
import socket
from pathlib import Path
from urllib.parse import unquote

from reviewkit import NAMES, reelform, write

JOGG_SPEC = """\
version: 1
name: paid
provider: jogg
defaults:
  avatar: {id: 81}
  voice: {voice_id: en-US-ChristopherNeural}
videos:
  - name: offer
    voice: {script: "An offer for you"}
  - name: thanks
    voice: {script: "Thanks"}
"""


def test_a_static_build_opens_from_the_file_system(repo: Path) -> None:
    done = reelform(repo, "review", "specs/team.yaml", "--out", "site")
    assert done.returncode == 0, done.stderr
    assert "3 videos: 3 completed" in done.stdout
    index = repo / "site/index.html"
    html = index.read_text()
    assert (repo / "site/assets/gallery.js").is_file()
    assert (repo / "site/assets/gallery.css").is_file()
    # Every link is relative and names a file that is there (file:// has no server).
    links = re.findall(r'(?:src|href|data-src)="([^"]+)"', html)
    assert links
    for link in links:
        if link == "data:,":
            continue
        assert not link.startswith(("/", "http:", "https:")), link
        assert (index.parent / unquote(link)).resolve().is_file(), link
    assert len(re.findall(r'data-src="[^"]+\.mp4"', html)) == 3
    assert 'body data-live="no"' in html and 'class="approve"' not in html  # no server
    assert "&lt;script&gt;window.pwned" in html and "<script>window.pwned" not in html


def test_posters_are_cached_by_the_videos_sha256(repo: Path) -> None:
    assert reelform(repo, "review", "specs/team.yaml", "--out", "site").returncode == 0
    cache = repo / "specs/.reelform/posters"
    posters = sorted(cache.glob("*.jpg"))
    assert len(posters) == 3
    from reelform.state.outputs import sha256_file

    assert {p.stem for p in posters} == {
        sha256_file(repo / f"specs/out/{name}.mp4") for name in NAMES
    }
    stamps = {p: p.stat().st_mtime_ns for p in posters}
    assert reelform(repo, "review", "specs/team.yaml", "--out", "site").returncode == 0
    assert {p: p.stat().st_mtime_ns for p in posters} == stamps  # not made again


def test_review_preview_renders_locally_and_never_touches_the_lockfile(tmp_path: Path) -> None:
    write(tmp_path / "specs/paid.yaml", JOGG_SPEC)
    done = reelform(tmp_path, "review", "specs/paid.yaml", "--preview", "--out", "site")
    # No key, and JOGG_BASE_URL points nowhere (conftest): any paid call would fail.
    assert done.returncode == 0, done.stdout + done.stderr
    assert "preview: 2 rendered in specs/preview/paid/" in done.stdout
    assert "2 videos: 2 will be created" in done.stdout
    assert not (tmp_path / "specs/paid.lock").exists()
    assert (tmp_path / "specs/preview/paid.lock").is_file()
    html = (tmp_path / "site/index.html").read_text()
    assert html.count('class="media-preview"') == 2
    assert len(re.findall(r'data-src="[^"]*preview/paid/(offer|thanks)\.mp4"', html)) == 2
    assert "credits" in html  # what apply would pay, shown beside the preview

    again = reelform(tmp_path, "review", "specs/paid.yaml", "--preview", "--out", "site")
    assert "preview: 2 up to date" in again.stdout  # previews are incremental


def test_bad_input_is_a_message_and_exit_1(tmp_path: Path) -> None:
    write(tmp_path / "specs/bad.yaml", "version: 1\nvideos:\n  - name: x\n    voice: {}\n")
    done = reelform(tmp_path, "review", "specs/bad.yaml")
    assert done.returncode == 1
    assert re.search(r"specs/bad\.yaml:\d+:\d+: ", done.stderr), done.stderr
    assert "Traceback" not in done.stderr

    write(tmp_path / "specs/ok.yaml", JOGG_SPEC)
    for address in ("nope", "127.0.0.1:99999", "host:"):
        done = reelform(tmp_path, "review", "specs/ok.yaml", "--serve", address)
        assert done.returncode == 1, (address, done.stdout, done.stderr)
        assert "expected [HOST:]PORT" in done.stderr and "Traceback" not in done.stderr

    done = reelform(tmp_path, "review", "specs/missing.yaml")
    assert done.returncode == 1 and "Traceback" not in done.stderr


def test_a_port_in_use_is_a_message(tmp_path: Path) -> None:
    write(tmp_path / "specs/ok.yaml", JOGG_SPEC)
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = reelform(tmp_path, "review", "specs/ok.yaml", "--serve", f"127.0.0.1:{port}")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Traceback" not in done.stderr and "in use" in done.stderr


def test_without_options_the_gallery_is_written_under_dot_reelform(repo: Path) -> None:
    done = reelform(repo, "review")  # the `specs` folder, as every command
    assert done.returncode == 0, done.stderr
    assert f"Wrote {Path('.reelform/review/index.html')}" in done.stdout
    assert (repo / ".reelform/review/index.html").is_file()


def test_serving_beyond_loopback_is_said(repo: Path) -> None:
    from reviewkit import Served

    server = Served(["review", "specs/team.yaml", "--serve", "0.0.0.0:0"], repo)
    try:
        assert "reachable from the network" in server.output
        import httpx

        port = server.url.rsplit(":", 1)[1].strip("/")
        assert httpx.get(f"http://127.0.0.1:{port}/").status_code == 200
    finally:
        assert server.stop() == 0
