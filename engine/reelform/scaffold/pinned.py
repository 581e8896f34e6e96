"""Pinned sources of reelform: what a new repository's workflow installs.

A source is *pinned* when it names exact bytes that are checked on install, so that
what runs next to a repository's API keys is what was reviewed, whoever registers
which name on which index:

``git+https://HOST/PATH@<commit id>`` (or ``git+ssh://``)
    A commit id (40 hex digits, 64 in a SHA-256 repository) is the hash of the
    commit's whole tree: git checks out exactly that or fails.
``https://HOST/PATH/reelform-X.Y.Z-py3-none-any.whl#sha256=<64 hex digits>``
    pip refuses a download whose sha256 is not the one in the URL.

Anything else is refused: a package name (``reelform==0.1.0`` installs whatever an
index serves under that name), a branch or a tag (they move), a URL without a hash,
or a URL with credentials in it (it would be committed).

This module uses the standard library only: the GitHub action loads it by path to
check its ``install`` input before reelform is installed (``python pinned.py SPEC``).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

ACCEPTED = (
    "a git URL at a commit id (git+https://github.com/OWNER/reelform@<40-hex commit id>) "
    "or a wheel URL with its sha256 "
    "(https://HOST/PATH/reelform-X.Y.Z-py3-none-any.whl#sha256=<64 hex>)"
)
ACTION_FORM = "OWNER/REPO@<40-hex commit id>"
#: What the scaffold writes where the source is not known; the workflow fails on it.
ACTION_PLACEHOLDER = "OWNER/reelform@COMMIT"

_COMMIT = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
_SHA256 = re.compile(r"sha256=([0-9a-f]{64})")
_GITHUB_NAME = re.compile(r"[A-Za-z0-9_.-]+")


class NotPinned(ValueError):
    """The text is not a pinned source; the message says what one looks like."""


@dataclass(frozen=True)
class Pinned:
    """A pinned source: ``spec`` is what pip installs."""

    spec: str
    kind: str  # "git" | "wheel"
    #: ``OWNER/REPO@COMMIT`` when this is a GitHub repository at a commit: the ref
    #: of the reelform action at the same code.
    action: str | None = None


def parse(text: str) -> Pinned:
    """The pinned source ``text`` names, or ``NotPinned``."""
    spec = text.strip()
    if spec.startswith("git+"):
        return _parse_git(spec)
    if spec.lower().startswith(("https://", "http://", "file:")):
        return _parse_wheel(spec)
    raise _refuse(spec, "is not a pinned source")


def _parse_git(spec: str) -> Pinned:
    url, _, commit = spec.rpartition("@")
    commit = commit.lower()
    parts = urlsplit(url)
    if parts.scheme not in ("git+https", "git+ssh") or not _COMMIT.fullmatch(commit):
        raise _refuse(spec, "is not pinned to a commit (a branch or a tag can move)")
    if not parts.hostname or parts.path in ("", "/") or parts.query or parts.fragment:
        raise _refuse(spec, "is not a git URL at a commit")
    if parts.password or (parts.username and parts.scheme == "git+https"):
        raise _refuse(spec, "has credentials in it")
    return Pinned(f"{url}@{commit}", "git", _github_action(parts.hostname, parts.path, commit))


def _parse_wheel(spec: str) -> Pinned:
    url, _, fragment = spec.partition("#")
    parts = urlsplit(url)
    name = parts.path.rsplit("/", 1)[-1]
    if parts.scheme != "https" or not parts.hostname or not name.endswith(".whl"):
        raise _refuse(spec, "is not an https URL of a wheel")
    if not _SHA256.fullmatch(fragment):
        raise _refuse(spec, "does not end in #sha256=<64 hex>")
    if parts.username or parts.password:
        raise _refuse(spec, "has credentials in it")
    if not name.startswith("reelform-"):
        raise _refuse(spec, "is not a reelform wheel (reelform-X.Y.Z-...whl)")
    return Pinned(spec, "wheel")


def parse_action(text: str) -> str:
    """``OWNER/REPO@COMMIT`` as given, or ``NotPinned``."""
    repo, _, commit = text.strip().rpartition("@")
    commit = commit.lower()
    owner, _, name = repo.partition("/")
    if not (
        _GITHUB_NAME.fullmatch(owner) and _GITHUB_NAME.fullmatch(name) and _COMMIT.fullmatch(commit)
    ):
        raise NotPinned(f"{text.strip()!r} is not a GitHub action at a commit; give {ACTION_FORM}")
    return f"{owner}/{name}@{commit}"


def _github_action(host: str, path: str, commit: str) -> str | None:
    if host.lower() not in ("github.com", "www.github.com"):
        return None
    segments = path.strip("/").removesuffix(".git").split("/")
    if len(segments) != 2 or not all(_GITHUB_NAME.fullmatch(s) for s in segments):
        return None
    return f"{segments[0]}/{segments[1]}@{commit}"


def _refuse(spec: str, why: str) -> NotPinned:
    shown = re.sub(r"//[^/@]*@", "//***@", spec)  # never echo a token
    return NotPinned(f"{shown!r} {why}; give {ACCEPTED}")


# Where the running reelform came from


def from_direct_url(text: str) -> Pinned | None:
    """The pinned source a PEP 610 ``direct_url.json`` records, if it is one.

    pip writes it for an install from a URL: a VCS URL with the commit it checked
    out, or an archive with its hash. A local folder (``dir_info``) pins nothing.
    """
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("url"), str):
        return None
    url: str = data["url"]
    vcs = data.get("vcs_info")
    archive = data.get("archive_info")
    candidate = None
    if isinstance(vcs, dict) and vcs.get("vcs") == "git" and isinstance(vcs.get("commit_id"), str):
        remote = remote_url(url)
        candidate = remote and f"git+{remote}@{vcs['commit_id']}"
    elif isinstance(archive, dict):
        hashes = archive.get("hashes")
        digest = hashes.get("sha256") if isinstance(hashes, dict) else None
        if digest is None and str(archive.get("hash", "")).startswith("sha256="):
            digest = str(archive["hash"]).removeprefix("sha256=")
        candidate = digest and f"{url}#sha256={digest}"
    if not candidate:
        return None
    try:
        return parse(candidate)
    except NotPinned:
        return None


def remote_url(url: str) -> str | None:
    """A git remote as an https or ssh URL that CI can fetch, without credentials.

    GitHub remotes become https (a public repository needs no key for it);
    ``git@host:path`` becomes ``ssh://git@host/path``. Local remotes give None.
    """
    scp = re.fullmatch(r"([A-Za-z0-9_.-]+)@([A-Za-z0-9.-]+):(?!/)(.+)", url)
    if scp:
        user, host, path = scp.groups()
        url = f"ssh://{user}@{host}/{path}"
    parts = urlsplit(url)
    if parts.scheme not in ("https", "ssh") or not parts.hostname:
        return None
    host = parts.hostname.lower()
    path = parts.path.rstrip("/")
    if host in ("github.com", "www.github.com"):
        return f"https://github.com{path.removesuffix('.git')}"
    if parts.scheme == "https":
        port = f":{parts.port}" if parts.port else ""
        return f"https://{host}{port}{path}"
    user = f"{parts.username}@" if parts.username else ""
    port = f":{parts.port}" if parts.port else ""
    return f"ssh://{user}{host}{port}{path}"


def _git(top: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", "-C", str(top), *args], capture_output=True, text=True, timeout=30
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def from_checkout(top: Path) -> Pinned | None:
    """``git+<remote>@<HEAD>`` for a git checkout of reelform with a remote.

    The remote is ``origin``, or the only one. The commit must have been pushed for
    the workflow to find it.
    """
    commit = _git(top, "rev-parse", "--verify", "HEAD")
    if not commit:
        return None
    remote = _git(top, "remote", "get-url", "origin")
    if remote is None:
        names = (_git(top, "remote") or "").split()
        remote = _git(top, "remote", "get-url", names[0]) if len(names) == 1 else None
    url = remote_url(remote) if remote else None
    if url is None:
        return None
    try:
        return parse(f"git+{url}@{commit}")
    except NotPinned:
        return None


def detect(package_dir: Path) -> Pinned | None:
    """Where the reelform whose package is ``package_dir`` came from, if pinned.

    From a git checkout of reelform (``engine/reelform`` in a work tree): its remote
    at HEAD. Else the ``direct_url.json`` pip wrote when it installed it. Else
    nothing (installed from an index, or from a folder).
    """
    init = (package_dir / "__init__.py").resolve()
    top = _git(package_dir, "rev-parse", "--show-toplevel")
    if top and (Path(top) / "engine" / "reelform" / "__init__.py").resolve() == init:
        return from_checkout(Path(top))
    from importlib.metadata import PackageNotFoundError, distribution

    try:
        dist = distribution("reelform")
    except PackageNotFoundError:
        return None
    if Path(str(dist.locate_file("reelform/__init__.py"))).resolve() != init:
        return None  # another reelform than the one running
    text = dist.read_text("direct_url.json")
    return from_direct_url(text) if text else None


def main(argv: list[str]) -> int:
    """``python pinned.py SPEC``: exit 0 if SPEC is empty or pinned, else say why."""
    spec = argv[0] if argv else ""
    if not spec.strip():
        return 0
    try:
        parse(spec)
    except NotPinned as exc:
        print(f"error: install: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
