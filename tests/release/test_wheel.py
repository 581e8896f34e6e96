"""The wheel a release would ship: built from this tree, installed into a new venv
by itself, and smoke-tested there (scripts/smoke.py, as the release workflow does).

Missing package data (the scaffold, templates, the schema, the local renderer's
assets) fails here, before a release, instead of for the first user. The new venv
borrows the project venv's dependencies through a .pth line (no download, so it
runs offline); reelform itself comes from the wheel alone, which the smoke test
checks (``reelform.__file__`` is inside the new venv).
"""

from __future__ import annotations

import email
import json
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelform.scaffold import BUILT_FROM, FILES

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: What the release workflow records in the package it builds (see release.yml).
ACTION = f"acme/reelform@{'5' * 40}"


def run(argv: list[str], cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{argv}:\n{done.stdout}{done.stderr}"
    return done.stdout


def git(cwd: Path, *args: str) -> str:
    return run(["git", "-C", str(cwd), *args], cwd).strip()


def scm_version(root: Path) -> str:
    """What setuptools-scm says the version of a tree is."""
    return run([sys.executable, "-m", "setuptools_scm"], root).strip().splitlines()[-1]


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git clone of this checkout at HEAD with the working tree's files on top.

    Built there rather than here: an in-tree build leaves build/ behind, and stale
    files in it end up in the next wheel. A clone keeps what setuptools-scm needs
    (git, for the version and for which files are package data), and the files on
    top make it the tree as it is now, committed or not.
    """
    # Never skipped: CI and every developer work in a git checkout.
    assert shutil.which("git") and (ROOT / ".git").exists(), "needs a git checkout of reelform"
    src = tmp_path_factory.mktemp("source") / "reelform"
    run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(ROOT), str(src)], ROOT)
    git(src, "checkout", "--quiet", "--detach", git(ROOT, "rev-parse", "HEAD"))
    listed = git(ROOT, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
    for name in filter(None, listed.split("\0")):
        here, there = ROOT / name, src / name
        if here.is_file():
            there.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(here, there)
        elif there.exists():  # deleted here, not committed yet
            there.unlink()
    git(src, "add", "--all")
    # As the release workflow does: untracked, it changes neither the version nor git.
    built_from = src / "engine" / "reelform" / "scaffold" / BUILT_FROM
    built_from.write_text(json.dumps({"action": ACTION}) + "\n")
    return src


@pytest.fixture(scope="module")
def wheel(source: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dist = tmp_path_factory.mktemp("dist")
    # Without isolation: the build tools are the test extras, nothing is downloaded.
    argv = [sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(dist)]
    run([*argv, str(source)], source)
    [built] = dist.glob("reelform-*.whl")
    return built


@pytest.fixture(scope="module")
def venv(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A new venv with the wheel installed, borrowing the project venv's dependencies."""
    where = tmp_path_factory.mktemp("venv") / "v"
    run([sys.executable, "-m", "venv", "--without-pip", str(where)], ROOT)
    python = where / "bin" / "python"
    # This pip installs into the new venv: only the wheel, nothing from an index.
    pip = [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
    run([*pip, "--no-deps", "--no-index", str(wheel)], ROOT)
    # Only now (pip must not see the project venv's own editable reelform): the
    # dependencies, from the project venv. A .pth in that folder is not read, so
    # the editable install's path hook stays out.
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = Path(run([str(python), "-c", code], ROOT).strip())
    (site / "_reelform_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    yield where


def test_the_wheel_installs_and_passes_the_smoke_test(venv: Path, source: Path) -> None:
    smoke = [sys.executable, str(ROOT / "scripts" / "smoke.py"), str(venv)]
    out = run([*smoke, "--version", scm_version(source), "--action", ACTION], ROOT)
    assert "smoke test passed" in out


def test_the_wheel_holds_the_package_data_and_its_metadata(wheel: Path, source: Path) -> None:
    version = scm_version(source)
    assert wheel.name == f"reelform-{version}-py3-none-any.whl"
    with zipfile.ZipFile(wheel) as zipped:
        names = set(zipped.namelist())
        meta = email.message_from_bytes(zipped.read(f"reelform-{version}.dist-info/METADATA"))
        entry_points = zipped.read(f"reelform-{version}.dist-info/entry_points.txt").decode()
    for name in [*FILES.values(), "__init__.py", "pinned.py", BUILT_FROM]:
        assert f"reelform/scaffold/{name}" in names
    assert "reelform/py.typed" in names
    assert not [n for n in names if n.startswith(("tests/", "scripts/")) or "__pycache__" in n]
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert (meta["Name"], meta["Version"]) == ("reelform", version)
    assert meta["Requires-Python"] == project["requires-python"]
    assert meta["License-Expression"] == project["license"]
    assert meta["Description-Content-Type"] == "text/markdown"
    assert "Installing reelform as a tool" in meta.get_payload()  # the README
    required = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert len(required) == len(project["dependencies"])
    assert "reelform = reelform.cli:run" in entry_points


def test_the_version_is_the_git_tag(source: Path, tmp_path: Path) -> None:
    """v1.2.3 on the commit: 1.2.3; later commits: the next .devN; no tag: 0.1.0.devN."""
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", "--shared", str(source), str(clone)], tmp_path)
    if tags := git(clone, "tag").split():  # the version with no tag yet
        git(clone, "tag", "--delete", *tags)
    commits = int(git(clone, "rev-list", "--count", "HEAD"))
    head = git(clone, "rev-parse", "--short=9", "HEAD")
    assert scm_version(clone).startswith(f"0.1.0.dev{commits}+g")
    assert head[:7] in scm_version(clone)
    git(clone, "tag", "v1.2.3")
    assert scm_version(clone) == "1.2.3"
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty"]
    git(clone, *commit, "-m", "next")
    assert scm_version(clone).startswith("1.2.4.dev1+g")


def test_a_source_archive_knows_its_version_without_git(source: Path, tmp_path: Path) -> None:
    """GitHub's tarball of the action: `git archive` fills in .git_archival.txt."""
    clone = tmp_path / "clone"
    run(["git", "clone", "--quiet", "--shared", str(source), str(clone)], tmp_path)
    for name in ("pyproject.toml", ".git_archival.txt", ".gitattributes"):  # as they are now
        shutil.copy2(source / name, clone / name)
    commit = ["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty"]
    git(clone, *commit, "--all", "-m", "the tree as it is")
    git(clone, "tag", "v1.2.3")
    archive = tmp_path / "src.tar"
    git(clone, "archive", "--output", str(archive), "HEAD")
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="data")
    assert not (unpacked / ".git").exists()
    assert scm_version(unpacked) == "1.2.3"
