"""The boundaries between reelform's parts (docs/design.md, "Parts and boundaries").

Two kinds of check:

* Loaded: every module of a part is imported in a fresh interpreter (``python -c``),
  one interpreter per part, and ``sys.modules`` is read after each import. Nothing
  imported by pytest or by another test can hide a dependency, and what one module
  pulls in is named with it.
* Static: the import statements of every module under ``engine/reelform``, read with
  ``ast``. This also sees imports inside functions (lazy ones), which the loaded
  check cannot, and type-only imports where a rule covers them.

Each rule was seen to fail before it was trusted, by adding one bad import to an
engine module, running this file, and taking the import out again (nothing of that
was committed):

* ``import httpx`` in speclang/load.py and ``from reelform.apply import decide`` in
  plan/show.py: the loaded and static speclang/plan checks and the httpx check fail;
* ``from reelform.providers import http`` in sim/core.py, ``import
  reelform.sim.config`` in providers/base.py, and ``from reelform.sim import config``
  inside a function of providers/jogg.py: the sim/providers checks fail (the last
  only statically: it is a lazy import); ``from reelform import secrets`` in
  sim/core.py fails the simulators' "nothing else of reelform" check;
* ``from reelform.commands import common`` in state/lock.py: the CLI check fails;
* ``from reelform.state.lockfile import write_lock`` in plan/diff.py: the writer
  check fails.

The tests named ``test_the_checks_*`` at the end keep that true: they feed the same
checks a bad module and expect to hear about it.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

import reelform

PACKAGE = Path(reelform.__file__).resolve().parent  # engine/reelform

#: What the pure core (spec language and plans) must never load: HTTP, the provider
#: clients and the offline renderer, apply, the simulators, the CLI. Allowed on
#: purpose: ``speclang/fit.py`` uses ``reelform.providers.catalog.Catalog`` (a plain
#: data class), which loads ``reelform.providers`` and ``reelform.providers.base``
#: (no client, no HTTP); ``speclang/assets.py`` reads media durations with PyAV,
#: imported inside the function that needs it.
CORE_MUST_NOT_LOAD = (
    "httpx",
    "httpcore",
    "starlette",
    "uvicorn",
    "reelform.providers.jogg",
    "reelform.providers.jogg_answers",
    "reelform.providers.jogg_catalog",
    "reelform.providers.mirako",
    "reelform.providers.http",
    "reelform.providers.submits",
    "reelform.providers.transport",
    "reelform.providers.local",
    "reelform.apply",
    "reelform.sim",
    "reelform.cli",
    "reelform.commands",
)
#: The simulators are written from the providers' documentation, apart from the
#: clients: they load nothing of reelform but themselves, the package's root and
#: what holds no reading of any API (today they use none of it).
SIM = "reelform.sim"
SIM_MAY_SHARE = ("reelform.errors",)
#: Modules of the command line; nothing below it may import them. ``__main__`` is
#: ``python -m reelform``, an entry point like the console script.
CLI = ("reelform.cli", "reelform.commands")
CLI_MAY_IMPORT = (*CLI, "reelform.__main__")
#: Where httpx may be imported: the clients, the simulators, and apply, which builds
#: the HTTP clients it hands to the providers and downloads finished videos from the
#: URLs they return.
HTTPX_MAY_BE_IMPORTED_IN = ("reelform.providers", "reelform.sim", "reelform.apply")
#: What produces a lockfile's bytes; only ``reelform.state`` may use it.
LOCK_WRITERS = {"write_lock", "dump_lock"}


def within(name: str, prefixes: Iterable[str]) -> bool:
    """Whether module ``name`` is one of ``prefixes`` or inside one of them."""
    return any(name == prefix or name.startswith(prefix + ".") for prefix in prefixes)


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def modules_of(part: str) -> list[str]:
    """``reelform.<part>`` and every module below it, found on disk (not imported)."""
    folder = PACKAGE / part
    paths = sorted(folder.rglob("*.py")) if folder.is_dir() else [PACKAGE / f"{part}.py"]
    return [module_name(path) for path in paths]


# --- loaded: what importing a part brings into a fresh interpreter ---------------------

PROBE = """\
import importlib, json, sys
report = {}
for name in sys.argv[1:]:
    before = set(sys.modules)
    importlib.import_module(name)
    report[name] = sorted(set(sys.modules) - before)
print(json.dumps(report))
"""
PARTS = ("speclang", "plan", "sim", "providers")

#: part -> {module: the modules its import loaded first}
Report = dict[str, list[str]]


@pytest.fixture(scope="module")
def loaded() -> dict[str, Report]:
    """Every part imported in its own fresh interpreter, all interpreters at once."""
    running = {
        part: subprocess.Popen(
            [sys.executable, "-c", PROBE, *modules_of(part)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for part in PARTS
    }
    reports: dict[str, Report] = {}
    for part, process in running.items():
        out, err = process.communicate(timeout=120)
        assert process.returncode == 0, f"importing reelform.{part} failed:\n{err}"
        reports[part] = json.loads(out)
    return reports


def loaded_violations(report: Mapping[str, list[str]], forbidden: Iterable[str]) -> list[str]:
    """``module -> what it loaded`` for every forbidden module in ``report``."""
    banned = tuple(forbidden)
    return [
        f"importing {module} loads {name}"
        for module, names in report.items()
        for name in names
        if within(name, banned)
    ]


@pytest.mark.parametrize("part", ["speclang", "plan"])
def test_the_pure_core_loads_no_http_no_client_and_no_apply(
    loaded: dict[str, Report], part: str
) -> None:
    assert loaded_violations(loaded[part], CORE_MUST_NOT_LOAD) == []


def reelform_outside(
    report: Mapping[str, list[str]], part: str, shared: Iterable[str] = ()
) -> list[str]:
    """What of reelform, other than ``part``, ``shared`` and the package's root,
    ``report`` loads."""
    allowed = (part, *shared)
    return [
        f"importing {module} loads {name}"
        for module, names in report.items()
        for name in names
        if within(name, ["reelform"]) and name != "reelform" and not within(name, allowed)
    ]


def test_the_simulators_load_nothing_of_the_clients(loaded: dict[str, Report]) -> None:
    assert loaded_violations(loaded["sim"], ["reelform.providers"]) == []
    # Nor any other helper of reelform that the clients use.
    assert reelform_outside(loaded["sim"], SIM, SIM_MAY_SHARE) == []


def test_the_clients_load_nothing_of_the_simulators(loaded: dict[str, Report]) -> None:
    assert loaded_violations(loaded["providers"], ["reelform.sim"]) == []


# --- static: the import statements of every module -------------------------------------


@dataclass(frozen=True)
class Import:
    module: str  # the importing module
    names: tuple[str, ...]  # what it names: the module, and each `from` name under it
    line: int
    lazy: bool  # inside a function: not loaded by importing the module
    type_only: bool  # under ``if TYPE_CHECKING:``: never loaded at all

    def describe(self, name: str) -> str:
        kind = " (type only)" if self.type_only else " (lazy)" if self.lazy else ""
        return f"{self.module}:{self.line} imports {name}{kind}"


def imports_in(source: str, module: str, *, is_package: bool = False) -> list[Import]:
    """Every import statement of ``source``, the module ``module``, with absolute names."""
    package = module if is_package else module.rpartition(".")[0]
    tree = ast.parse(source)
    type_only: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and ast.unparse(node.test).endswith("TYPE_CHECKING"):
            type_only.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    found: list[Import] = []

    def visit(node: ast.AST, lazy: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                names = tuple(alias.name for alias in child.names)
                found.append(Import(module, names, child.lineno, lazy, id(child) in type_only))
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    base = package.split(".")[: len(package.split(".")) - (child.level - 1)]
                    origin = ".".join([*base, *([child.module] if child.module else [])])
                else:
                    origin = child.module or ""
                names = (origin, *(f"{origin}.{alias.name}" for alias in child.names))
                found.append(Import(module, names, child.lineno, lazy, id(child) in type_only))
            inner = lazy or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            visit(child, inner)

    visit(tree, False)
    return found


def engine_sources() -> dict[str, tuple[str, bool]]:
    """module -> (source, is_package) for every module of the engine."""
    return {
        module_name(path): (path.read_text(encoding="utf-8"), path.name == "__init__.py")
        for path in sorted(PACKAGE.rglob("*.py"))
    }


@pytest.fixture(scope="module")
def engine_imports() -> list[Import]:
    return [
        found
        for module, (source, is_package) in engine_sources().items()
        for found in imports_in(source, module, is_package=is_package)
    ]


def static_violations(
    imports: Iterable[Import],
    importers: Iterable[str],
    forbidden: Iterable[str],
    *,
    except_importers: Iterable[str] = (),
    count_type_only: bool = True,
) -> list[str]:
    """Imports by modules within ``importers`` (but not ``except_importers``) of a
    module within ``forbidden``."""
    importers, banned, exempt = tuple(importers), tuple(forbidden), tuple(except_importers)
    found_names = (
        (found, next((name for name in found.names if within(name, banned)), None))
        for found in imports
        if within(found.module, importers)
        and not within(found.module, exempt)
        and (count_type_only or not found.type_only)
    )
    return [found.describe(name) for found, name in found_names if name is not None]


def test_the_pure_core_imports_no_http_no_client_and_no_apply(
    engine_imports: list[Import],
) -> None:
    """Also lazily: a function of plan/ that imported httpx would escape the loaded
    check. Type-only imports load nothing and are allowed."""
    core = ("reelform.speclang", "reelform.plan")
    assert static_violations(engine_imports, core, CORE_MUST_NOT_LOAD, count_type_only=False) == []


def test_sim_and_providers_import_nothing_of_each_other(engine_imports: list[Import]) -> None:
    """Any import, even a lazy or a type-only one, would share a reading of the APIs."""
    sim, providers = ["reelform.sim"], ["reelform.providers"]
    assert static_violations(engine_imports, sim, providers) == []
    assert static_violations(engine_imports, providers, sim) == []


def test_nothing_below_the_cli_imports_it(engine_imports: list[Import]) -> None:
    assert (
        static_violations(engine_imports, ["reelform"], CLI, except_importers=CLI_MAY_IMPORT) == []
    )


def test_httpx_is_imported_only_where_http_is_spoken(engine_imports: list[Import]) -> None:
    assert (
        static_violations(
            engine_imports,
            ["reelform"],
            ["httpx", "httpcore"],
            except_importers=HTTPX_MAY_BE_IMPORTED_IN,
            count_type_only=False,
        )
        == []
    )


def lock_writer_uses(source: str, module: str) -> list[str]:
    """Where ``source`` names one of ``LOCK_WRITERS`` (imported, called or referenced)."""
    uses = []
    for node in ast.walk(ast.parse(source)):
        name = None
        if isinstance(node, ast.Name):
            name = node.id
        elif isinstance(node, ast.Attribute):
            name = node.attr
        elif isinstance(node, ast.alias):
            name = node.name.rpartition(".")[2]
        if name in LOCK_WRITERS:
            uses.append(f"{module}:{getattr(node, 'lineno', '?')} uses {name}")
    return uses


def test_only_state_writes_lockfiles() -> None:
    uses = [
        use
        for module, (source, _) in engine_sources().items()
        if not within(module, ["reelform.state"])
        for use in lock_writer_uses(source, module)
    ]
    assert uses == []


# --- the checks can fail ---------------------------------------------------------------

BAD_MODULE = """\
from __future__ import annotations
from typing import TYPE_CHECKING
import httpx
from ..sim import core
from reelform import cli
if TYPE_CHECKING:
    from reelform.providers.jogg import JoggProvider
def later():
    from reelform.apply.decide import video_step
    return write_lock
"""


def test_the_checks_see_every_kind_of_import() -> None:
    found = imports_in(BAD_MODULE, "reelform.plan.bad")
    assert [(f.names[0], f.lazy, f.type_only) for f in found] == [
        ("__future__", False, False),
        ("typing", False, False),
        ("httpx", False, False),
        ("reelform.sim", False, False),
        ("reelform", False, False),
        ("reelform.providers.jogg", False, True),
        ("reelform.apply.decide", True, False),
    ]
    assert static_violations(found, ["reelform.plan"], CORE_MUST_NOT_LOAD) == [
        "reelform.plan.bad:3 imports httpx",
        "reelform.plan.bad:4 imports reelform.sim",
        "reelform.plan.bad:5 imports reelform.cli",
        "reelform.plan.bad:7 imports reelform.providers.jogg (type only)",
        "reelform.plan.bad:9 imports reelform.apply.decide (lazy)",
    ]
    runtime_only = static_violations(found, ["reelform"], CORE_MUST_NOT_LOAD, count_type_only=False)
    assert len(runtime_only) == 4 and not any("type only" in v for v in runtime_only)
    assert static_violations(found, ["reelform"], CLI, except_importers=CLI_MAY_IMPORT) == [
        "reelform.plan.bad:5 imports reelform.cli"
    ]
    assert lock_writer_uses(BAD_MODULE, "reelform.plan.bad") == [
        "reelform.plan.bad:10 uses write_lock"
    ]


def test_the_checks_see_what_a_fresh_interpreter_loads(loaded: dict[str, Report]) -> None:
    """The probe reports what each import brought in: the clients bring httpx, the
    simulators starlette. Held to the other part's rules, they are violations."""
    providers, sim = loaded["providers"], loaded["sim"]
    assert any("httpx" in names for names in providers.values())
    assert any("starlette" in names for names in sim.values())
    assert loaded_violations(providers, CORE_MUST_NOT_LOAD)
    assert reelform_outside(providers, SIM, SIM_MAY_SHARE)  # reelform.secrets, ...
