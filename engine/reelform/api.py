"""The library API: load, plan and apply specs from Python, as the CLI does.

    import reelform

    spec = reelform.load("specs/welcome.yaml", vars={"company": "Acme"})
    [video.name for video in spec.videos]         # ['welcome-1', 'welcome-2']

    plans = reelform.plan("specs")                # a file, a folder, or a list of them
    [(i.action.value, i.name) for i in plans[0].items]
                                                  # [('create', 'welcome-1'), ...]
    outcomes = reelform.apply("specs")            # renders, records in the lockfiles
    [(o.name, o.status) for o in outcomes]        # [('welcome-1', 'completed'), ...]

Errors are those of ``reelform.errors``: ``SpecError`` (with ``.problems``, each
``FILE:LINE:COL: message``) for specs, ``BusyError`` when another apply holds a
spec, ``ConfigError`` for options. ``apply`` runs its own event loop: from async
code, call it in a thread (``await asyncio.to_thread(reelform.apply, paths)``).

``reelform.plan`` and ``reelform.apply`` are also the names of subpackages; the
packages are callable and call these functions (see ``reelform._entry``). Typed
code can import them from here: ``from reelform.api import plan``.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from reelform.apply.model import Outcome
    from reelform.apply.progress import Reporter
    from reelform.plan.diff import SpecPlan
    from reelform.speclang.expand import LoadedSpec

PathLike = str | os.PathLike[str]

__all__ = ["SilentReporter", "apply", "load", "plan"]


def load(path: PathLike, vars: Mapping[str, str] | None = None) -> LoadedSpec:
    """Load one spec: validated (schema, templates, data, assets, provider fit) and
    expanded into its videos, exactly as `reelform validate` checks it.

    ``vars`` overrides the spec's ``vars:`` like ``--var NAME=VALUE``. Raises
    ``reelform.errors.SpecError`` listing every problem found::

        try:
            spec = reelform.load("specs/welcome.yaml")
        except reelform.errors.SpecError as exc:
            for problem in exc.problems:
                print(problem)   # specs/welcome.yaml:12:7: unknown key 'voise' ...
    """
    from reelform.project import prepare

    return prepare(Path(path), vars).spec


def plan(
    paths: PathLike | Iterable[PathLike],
    vars: Mapping[str, str] | None = None,
    targets: Sequence[str] = (),
    *,
    reuse: bool = True,
) -> list[SpecPlan]:
    """What `apply` would do, per spec: reads only (no network, no writes).

    ``paths``: spec files and folders (every spec below). ``targets``: globs of
    video names, like ``--target``. Each ``SpecPlan`` has ``items`` (``action``,
    ``name``, ``changed`` fields...), ``unchanged`` and ``estimate``. ``reuse=False``
    is `--no-reuse`: no video is a ``copy`` of an identical render::

        for spec_plan in reelform.plan(["specs"], targets=["welcome-*"]):
            print(spec_plan.spec, spec_plan.estimate.videos, "to render")
    """
    from reelform.project import plan_all, prepare_all, target_filter

    return plan_all(prepare_all(_paths(paths), vars), target_filter(targets), reuse=reuse)


def apply(
    paths: PathLike | Iterable[PathLike],
    vars: Mapping[str, str] | None = None,
    targets: Sequence[str] = (),
    *,
    yes: bool = True,
    parallel: int = 8,
    replace: Sequence[str] = (),
    prune: bool = False,
    max_credits: int | None = None,
    ignore_quota: bool = False,
    resubmit_unknown: bool = False,
    approved: bool = False,
    wait: bool = False,
    timeout: float | None = None,
    reporter: Reporter | None = None,
    reuse: bool = True,
) -> list[Outcome]:
    """Make the specs' videos exist, as `reelform apply --yes` does, and return one
    ``Outcome`` per video of the plan (``status``: completed, moved, failed, running,
    pending, unknown, pruned, skipped; ``ok`` is True for the good ones).
    ``timeout`` (seconds) is `--timeout`: renders still running after it are
    ``running`` and resumed by the next apply; videos not yet sent are ``pending``.
    ``approved=True`` is `--approved`: only renders approved in the spec's
    ``.approvals`` file are submitted; the others have no outcome (held back).

    Holds each spec's apply lock for the whole run (``BusyError`` if another apply
    has it, or waits with ``wait=True``), plans under the lock, and records every
    job in the lockfiles. An empty list means there was nothing to do.
    ``yes=False`` asks on the terminal first (and refuses without one).
    Before starting it reads JoggAI's remaining credit and raises ``ConfigError``
    when the estimate exceeds it, unless ``ignore_quota=True``; an account that runs
    out mid-run leaves its videos not yet sent ``pending`` (``no_credit`` names the
    provider). ``reporter`` receives progress events (default: none are shown).
    ``reuse=False`` is `--no-reuse`: a video whose identical render is done is
    rendered anyway::

        outcomes = reelform.apply("specs/welcome.yaml", parallel=2)
        failed = [o for o in outcomes if not o.ok]
    """
    import asyncio

    from reelform.apply.model import ApplyOptions
    from reelform.apply.session import SpecSelection, apply_specs
    from reelform.errors import ConfigError
    from reelform.secrets import environment
    from reelform.speclang.load import find_specs

    if not yes and not sys.stdin.isatty():
        raise ConfigError("apply needs yes=True when stdin is not a terminal")
    selection = SpecSelection(
        find_specs(_paths(paths)), dict(vars or {}), targets, replace, reuse=reuse
    )
    options = ApplyOptions(
        parallel=parallel,
        resubmit_unknown=resubmit_unknown,
        prune=prune,
        timeout=timeout,
        max_credits=max_credits,
        approved=approved,
        ignore_quota=ignore_quota,
    )
    result = asyncio.run(
        apply_specs(
            selection,
            options,
            (lambda _plans: True) if yes else _confirm,
            reporter or SilentReporter(),
            env=environment(),
            wait=wait,
            budget_name="max_credits=",
            quota_name="ignore_quota=True",
        )
    )
    return result.outcomes or []


class SilentReporter:
    """A progress reporter that shows nothing (the library default)."""

    def planned(self, phase: str, count: int) -> None:
        pass

    def event(self, kind: str, spec: str, name: str, **fields: Any) -> None:
        pass

    def close(self) -> None:
        pass


def _paths(paths: PathLike | Iterable[PathLike]) -> list[Path]:
    if isinstance(paths, str | os.PathLike):
        return [Path(paths)]
    return [Path(p) for p in paths]


def _confirm(plans: Sequence[SpecPlan]) -> bool:
    import click

    from reelform.plan.show import render_text, use_color

    if not any(p.changes for p in plans):
        return True  # nothing to ask about
    click.echo(render_text(plans, use_color(sys.stdout)), nl=False)
    return click.confirm("Apply this plan?", default=False)
