"""The gallery's server over real HTTP (`reelform review --serve`, a subprocess on
loopback): it serves the gallery and the spec's own videos, nothing else."""

from __future__ import annotations

import http.client
import os
import re
from pathlib import Path
from urllib.parse import urlsplit

import httpx
from reviewkit import NAMES, Served

from reelform.project import prepare
from reelform.review.model import media_key


def raw_get(url: str, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    """A GET with the path sent exactly as written (httpx would normalize ``..``)."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.putrequest("GET", path, skip_host=headers is not None and "Host" in headers)
        for name, value in (headers or {}).items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def cards_of(html: str) -> dict[str, str]:
    """card id -> its render identity, as the page carries them."""
    found = re.findall(
        r'<article class="card[^"]*" id="(c[0-9a-f]+)"[^>]*data-identity="([0-9a-f]+)"', html
    )
    return dict(found)


def fingerprints(repo: Path) -> dict[str, str]:
    return {r.name: r.fingerprint for r in prepare(repo / "specs/team.yaml").requests}


def test_the_page_shows_each_video_and_a_row_with_script_in_it_is_text(served: Served) -> None:
    answer = httpx.get(served.url)
    assert answer.status_code == 200
    html = answer.text
    assert len(cards_of(html)) == 3
    for name in NAMES:
        assert f'<h2 class="name">{name}</h2>' in html
    assert "<script>window.pwned" not in html
    assert "&lt;script&gt;window.pwned=1&lt;/script&gt;Cat" in html
    csp = answer.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    # Everything the page loads comes from the page's own origin: no CDN.
    for url in re.findall(r'(?:src|href|data-src)="([^"]+)"', html):
        assert url.startswith("/") or url == "data:,", url
    assert (
        httpx.get(served.url + "assets/gallery.js")
        .headers["content-type"]
        .startswith("text/javascript")
    )


def test_posters_and_videos_are_served_and_videos_seek(served: Served, repo: Path) -> None:
    html = httpx.get(served.url).text
    posters = re.findall(r'src="(/posters/[0-9a-f]{64}\.jpg)"', html)
    assert len(posters) == 3
    poster = httpx.get(served.url + posters[0][1:])
    assert poster.status_code == 200 and poster.content[:3] == b"\xff\xd8\xff"  # a JPEG
    videos = re.findall(r'data-src="(/media/[^"]+)"', html)
    assert len(videos) == 3
    whole = httpx.get(served.url + videos[0][1:])
    assert whole.status_code == 200 and whole.headers["content-type"] == "video/mp4"
    assert whole.content == (repo / "specs/out/hello-ann.mp4").read_bytes()
    part = httpx.get(served.url + videos[0][1:], headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.content) == 100  # browsers seek this way


TRAVERSALS = [
    "/media/../../specs/team.lock",
    "/media/output/../../../../etc/passwd",
    "/media/%2e%2e/%2e%2e/etc/passwd",
    "/media/%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/media//etc/passwd",
    "/media/%2fetc%2fpasswd",
    "/media/output/x/..%2f..%2fspecs%2fteam.yaml",
    "/posters/../specs/team.yaml",
    "/posters/%2e%2e%2fspecs%2fteam.yaml",
    "/assets/../server.py",
    "/assets/%2e%2e%2fserver.py",
    "/assets/page.py",
    "/../../etc/passwd",
    "/%2e%2e/%2e%2e/etc/passwd",
    "/etc/passwd",
    "/specs/team.yaml",
    "/out/hello-ann.mp4",
    "/.reelform/posters",
    "{origin}/etc/passwd",
    "{origin}/media/../../specs/team.lock",
]


def test_no_path_leads_outside_the_gallery(served: Served) -> None:
    origin = served.url.rstrip("/")
    answers = {path: raw_get(served.url, path.format(origin=origin)) for path in TRAVERSALS}
    wrong = {path: status for path, (status, _) in answers.items() if status not in (400, 404)}
    assert not wrong
    for _status, body in answers.values():
        assert b"root:" not in body and b"version: 1" not in body and b"ftyp" not in body[:12]


def test_a_symlink_swapped_in_after_the_build_is_refused(served: Served, repo: Path) -> None:
    key = media_key("output", "specs/team.yaml", "hello-ann")
    assert httpx.get(f"{served.url}media/{key}").status_code == 200
    secret = repo.parent / "secret.mp4"
    secret.write_bytes(b"not for the gallery")
    target = repo / "specs/out/hello-ann.mp4"
    target.unlink()
    target.symlink_to(secret)
    answer = httpx.get(f"{served.url}media/{key}")
    assert answer.status_code == 403
    assert b"not for the gallery" not in answer.content


def test_a_symlink_out_of_the_tree_is_never_linked(repo: Path) -> None:
    secret = repo.parent / "elsewhere.mp4"
    (repo / "specs/out/hello-bob.mp4").rename(secret)
    (repo / "specs/out/hello-bob.mp4").symlink_to(secret)
    server = Served(["review", "specs/team.yaml", "--serve", "127.0.0.1:0"], repo)
    try:
        html = httpx.get(server.url).text
        assert "leads outside the output folder" in html
        key = media_key("output", "specs/team.yaml", "hello-bob")
        assert key not in html
        assert httpx.get(f"{server.url}media/{key}").status_code == 404
    finally:
        server.stop()


def test_a_request_for_another_host_is_refused(served: Served) -> None:
    # A page on evil.example whose name now resolves to 127.0.0.1 (DNS rebinding).
    status, _ = raw_get(served.url, "/", {"Host": "evil.example"})
    assert status == 421
    port = urlsplit(served.url).port
    assert raw_get(served.url, "/", {"Host": f"localhost:{port}"})[0] == 200


def test_approvals_are_recorded_by_render_identity(served: Served, repo: Path) -> None:
    cards = cards_of(httpx.get(served.url).text)
    identities = fingerprints(repo)
    by_identity = {identity: card for card, identity in cards.items()}
    ann = by_identity[identities["hello-ann"]]
    bob = by_identity[identities["hello-bob"]]
    api = served.url + "api/approvals"

    answer = httpx.post(api, json={"approve": [{"id": ann, "identity": identities["hello-ann"]}]})
    assert answer.status_code == 200, answer.text
    assert 'data-approved="yes"' in answer.json()["cards"][ann]
    approvals = repo / "specs/team.approvals"
    lines = [line for line in approvals.read_text().splitlines() if not line.startswith("#")]
    assert lines == [f"hello-ann {identities['hello-ann']}"]

    # What the reviewer saw is not what the spec makes now: not approved.
    stale = httpx.post(api, json={"approve": [{"id": bob, "identity": "0" * 64}]})
    assert stale.status_code == 409 and "hello-bob" in stale.json()["error"]
    assert "hello-bob" not in approvals.read_text()

    # A selection: both approved at once, then one rejected.
    both = [{"id": ann, "identity": identities["hello-ann"]}]
    both.append({"id": bob, "identity": identities["hello-bob"]})
    assert httpx.post(api, json={"approve": both}).status_code == 200
    assert httpx.post(api, json={"reject": [ann]}).status_code == 200
    lines = [line for line in approvals.read_text().splitlines() if not line.startswith("#")]
    assert lines == [f"hello-bob {identities['hello-bob']}"]
    page = httpx.get(served.url).text
    assert page.count('data-approved="yes"') == 1


def test_an_approvals_file_that_cannot_be_written_is_an_answer_not_a_crash(
    served: Served, repo: Path
) -> None:
    cards = cards_of(httpx.get(served.url).text)
    identities = fingerprints(repo)
    ann = {identity: card for card, identity in cards.items()}[identities["hello-ann"]]
    (repo / "specs/team.approvals").mkdir()  # in the file's way: reading it fails
    answer = httpx.post(
        served.url + "api/approvals",
        json={"approve": [{"id": ann, "identity": identities["hello-ann"]}]},
    )
    assert answer.status_code == 507, answer.text
    assert "team.approvals" in answer.json()["error"], answer.text
    assert "nothing recorded" in answer.json()["error"]
    assert httpx.get(served.url).status_code == 200  # the gallery goes on


def test_approvals_that_are_not_same_origin_json_are_refused(served: Served, repo: Path) -> None:
    cards = cards_of(httpx.get(served.url).text)
    card, identity = next(iter(cards.items()))
    body = {"approve": [{"id": card, "identity": identity}]}
    api = served.url + "api/approvals"
    # A form another site could post (no CORS preflight for it):
    form = httpx.post(api, content=b'{"approve": []}', headers={"Content-Type": "text/plain"})
    assert form.status_code == 415
    cross = httpx.post(api, json=body, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert (
        httpx.post(
            api, content=b"{not json", headers={"Content-Type": "application/json"}
        ).status_code
        == 400
    )
    assert httpx.post(api, json={"approve": "all"}).status_code == 400
    assert httpx.post(api, json={"reject": ["c0000"]}).status_code == 404
    assert not (repo / "specs/team.approvals").exists()
    assert httpx.get(served.url).status_code == 200  # still serving


def test_a_missing_and_a_corrupt_output_show_on_their_cards(repo: Path) -> None:
    (repo / "specs/out/hello-bob.mp4").unlink()
    corrupt = repo / "specs/out/hello-cat.mp4"
    corrupt.write_bytes(b"\x00\x00\x00\x18ftypisom" + os.urandom(4000))
    server = Served(["review", "specs/team.yaml", "--serve", "127.0.0.1:0"], repo)
    try:
        answer = httpx.get(server.url)
        assert answer.status_code == 200
        html = answer.text
        assert "output file missing" in html
        assert "output unreadable:" in html
        assert len(re.findall(r'data-src="/media/', html)) == 1  # only ann's plays
        assert "hello-bob: output file missing" in server.output
    finally:
        server.stop()


def test_a_change_after_an_approval_voids_it_on_the_card(repo: Path) -> None:
    from reviewkit import PEOPLE, write

    from reelform.state.approvals import record_approvals

    spec = repo / "specs/team.yaml"
    record_approvals(spec, {"hello-ann": fingerprints(repo)["hello-ann"]}, [])
    write(repo / "specs/data/people.csv", PEOPLE.replace("ann,Ann", "ann,Annie"))
    server = Served(["review", "specs/team.yaml", "--serve", "127.0.0.1:0"], repo)
    try:
        html = httpx.get(server.url).text
        assert "approval void (changed since)" in html
        assert 'data-approved="yes"' not in html
        assert "will be replaced" in html and re.search(r"changed: [^<]*script", html)
    finally:
        server.stop()


def test_a_corrupt_approvals_file_is_said_on_the_page_and_by_the_command(
    served: Served, repo: Path
) -> None:
    approvals = repo / "specs/team.approvals"
    approvals.write_text("hello-ann not-an-identity\n")
    answer = httpx.get(served.url)
    assert answer.status_code == 200
    assert re.search(r"team\.approvals:1:\d+: .*not a render identity", answer.text)
    assert len(cards_of(answer.text)) == 3
    card, identity = next(iter(cards_of(answer.text).items()))
    refused = httpx.post(
        served.url + "api/approvals", json={"approve": [{"id": card, "identity": identity}]}
    )
    assert refused.status_code == 400 and "team.approvals:1:" in refused.json()["error"]
    assert approvals.read_text() == "hello-ann not-an-identity\n"  # left as it was

    from reviewkit import reelform

    done = reelform(repo, "review", "specs/team.yaml", "--out", "site")
    assert done.returncode == 1
    assert re.search(r"team\.approvals:1:\d+: ", done.stderr) and "Traceback" not in done.stderr
