"""Pinned sources: what counts as one, and how init finds the one it runs from."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import reelform
from reelform.scaffold.pinned import (
    NotPinned,
    Pinned,
    detect,
    from_checkout,
    from_direct_url,
    parse,
    remote_url,
)

COMMIT = "0123456789abcdef0123456789abcdef01234567"
SHA256 = "ab" * 32
WHEEL = f"https://files.example/reelform-0.2.0-py3-none-any.whl#sha256={SHA256}"
PINNED_PY = Path(reelform.__file__).parent / "scaffold" / "pinned.py"


GITHUB = "git+https://github.com/acme/reelform"
ACTION = f"acme/reelform@{COMMIT}"


@pytest.mark.parametrize(
    ("text", "spec", "action"),
    [
        (f"{GITHUB}@{COMMIT}", f"{GITHUB}@{COMMIT}", ACTION),
        (f"{GITHUB}.git@{COMMIT.upper()}", f"{GITHUB}.git@{COMMIT}", ACTION),
        (f"git+ssh://git@github.com/acme/reelform.git@{COMMIT}", None, ACTION),
        # a SHA-256 repository's commit id, elsewhere than GitHub
        (f"git+https://git.acme.example/tools/reelform@{'e' * 64}", None, None),
        (f"  {WHEEL}\n", WHEEL, None),
    ],
)
def test_the_pinned_forms(text: str, spec: str | None, action: str | None) -> None:
    kind = "wheel" if text.strip().endswith(SHA256) else "git"
    assert parse(text) == Pinned(spec or text.strip(), kind, action)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "reelform",
        "reelform==0.2.0",
        "reelform==0.2.0 --hash=sha256:" + SHA256,  # pip would want every dependency hashed
        "./reelform-0.2.0-py3-none-any.whl",
        f"file:///tmp/reelform-0.2.0-py3-none-any.whl#sha256={SHA256}",
        f"git+https://github.com/acme/reelform@{COMMIT[:12]}",  # short ids can collide
        f"git+https://github.com/acme/reelform@{COMMIT}#subdirectory=x",
        f"git+http://github.com/acme/reelform@{COMMIT}",
        f"git+file:///src/reelform@{COMMIT}",
        f"https://files.example/reelform-0.2.0.tar.gz#sha256={SHA256}",
        f"https://files.example/other-0.2.0-py3-none-any.whl#sha256={SHA256}",
        f"https://files.example/reelform-0.2.0-py3-none-any.whl#md5={'a' * 32}",
        f"https://user:pw@files.example/reelform-0.2.0-py3-none-any.whl#sha256={SHA256}",
    ],
)
def test_everything_else_is_refused(text: str) -> None:
    with pytest.raises(NotPinned, match="give a git URL at a commit id"):
        parse(text)


@pytest.mark.parametrize(
    ("remote", "url"),
    [
        ("git@github.com:acme/reelform.git", "https://github.com/acme/reelform"),
        ("https://github.com/acme/reelform.git", "https://github.com/acme/reelform"),
        ("https://bob:ghp_token@github.com/acme/reelform", "https://github.com/acme/reelform"),
        ("ssh://git@github.com/acme/reelform.git", "https://github.com/acme/reelform"),
        ("git@git.acme.example:tools/reelform.git", "ssh://git@git.acme.example/tools/reelform.git"),
        ("https://tok@git.acme.example:8443/tools/reelform", "https://git.acme.example:8443/tools/reelform"),
        ("/srv/git/reelform.git", None),
        ("file:///srv/git/reelform.git", None),
    ],
)  # fmt: skip
def test_remotes_become_urls_ci_can_fetch_without_credentials(remote: str, url: str | None) -> None:
    assert remote_url(remote) == url


def test_pip_s_direct_url_records_a_pinned_source_or_none() -> None:
    vcs_info = {"vcs": "git", "commit_id": COMMIT, "requested_revision": "v0.2.0"}
    vcs = {"url": "https://github.com/acme/reelform", "vcs_info": vcs_info}
    assert from_direct_url(json.dumps(vcs)) == parse(
        f"git+https://github.com/acme/reelform@{COMMIT}"
    )
    wheel = {"url": WHEEL.split("#")[0], "archive_info": {"hashes": {"sha256": SHA256}}}
    assert from_direct_url(json.dumps(wheel)) == Pinned(WHEEL, "wheel")
    old_pip = {"url": WHEEL.split("#")[0], "archive_info": {"hash": f"sha256={SHA256}"}}
    assert from_direct_url(json.dumps(old_pip)) == Pinned(WHEEL, "wheel")
    for nothing in (
        {"url": "file:///work/reelform", "dir_info": {"editable": True}},
        {"url": WHEEL.split("#")[0], "archive_info": {}},
        {
            "url": "file:///tmp/reelform-0.2.0-py3-none-any.whl",
            "archive_info": wheel["archive_info"],
        },
        {"url": "https://github.com/acme/reelform", "vcs_info": {**vcs_info, "vcs": "hg"}},
    ):
        assert from_direct_url(json.dumps(nothing)) is None
    assert from_direct_url("not json") is None


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(cwd), *args], check=True, capture_output=True, text=True
    )
    return done.stdout.strip()


def checkout(root: Path, remote: str | None) -> tuple[Path, str]:
    """A git checkout laid out like reelform's, with one commit; its package folder."""
    package = root / "engine" / "reelform"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    git(root, "init", "-q")
    git(root, "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "start")
    if remote:
        git(root, "remote", "add", "origin", remote)
    return package, git(root, "rev-parse", "HEAD")


def test_from_a_checkout_init_pins_its_remote_at_head(tmp_path: Path) -> None:
    package, head = checkout(tmp_path, "git@github.com:acme/reelform.git")
    expected = parse(f"git+https://github.com/acme/reelform@{head}")
    assert from_checkout(tmp_path) == expected
    assert detect(package) == expected
    assert expected.action == f"acme/reelform@{head}"


def test_a_checkout_without_a_remote_pins_nothing(tmp_path: Path) -> None:
    package, _ = checkout(tmp_path, None)
    assert detect(package) is None


def test_a_reelform_installed_inside_some_other_checkout_is_not_that_checkout(
    tmp_path: Path,
) -> None:
    # A wheel installed into a .venv inside the user's own video repository.
    site = tmp_path / ".venv" / "site-packages" / "reelform"
    site.mkdir(parents=True)
    (site / "__init__.py").write_text("")
    git(tmp_path, "init", "-q")
    git(tmp_path, "remote", "add", "origin", "https://github.com/acme/videos")
    assert detect(site) is None


def test_the_action_checks_its_install_input_with_the_same_rules() -> None:
    """`python pinned.py SPEC`, run by path as the action does (no reelform installed)."""

    def check(spec: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, "-I", str(PINNED_PY), spec]
        return subprocess.run(argv, capture_output=True, text=True, timeout=60)

    assert check("").returncode == 0
    assert check(WHEEL).returncode == 0
    refused = check("reelform==0.2.0")
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: install: 'reelform==0.2.0' is not a pinned source")
