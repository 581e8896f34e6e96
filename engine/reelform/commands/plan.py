"""`reelform plan`: what apply would do. Reads only: no network, and no writes but
its own cache (the expansion memo, ``memo/``) and ``--out``."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click
import orjson

from reelform import heap
from reelform.atomic import atomic_write
from reelform.commands.common import (
    default_targets,
    no_reuse_option,
    parse_vars,
    spec_arguments,
    target_option,
    var_option,
)
from reelform.errors import ConfigError
from reelform.plan.diff import SpecPlan
from reelform.plan.show import plan_json, write_text
from reelform.secrets import environment

if TYPE_CHECKING:
    from reelform.project import Prepared
    from reelform.quota import QuotaReading
    from reelform.state.preload import LockSummary


def remote_quotas(prepared: Sequence[Prepared], plans: Sequence[SpecPlan]) -> list[QuotaReading]:
    """`--check-remote`: each charging provider's remaining credit, beside the estimate.
    A reading that fails is shown as such, never an error of the plan."""
    import asyncio

    from reelform.quota import charging_providers, read_quotas

    used = {v.provider for p in prepared for v in p.spec.videos}
    env = environment()  # keys may come from a .env file, as for apply
    return asyncio.run(read_quotas(plans, charging_providers(plans, used), env))


@click.command("plan")
@spec_arguments
@click.option("--json", "as_json", is_flag=True, help="Print the plan as JSON.")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default=None,
    help="Output format (default text; --json is --format json).",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    metavar="FILE",
    help="Also save the plan to FILE; `reelform apply FILE` applies exactly it.",
)
@click.option(
    "--detailed-exitcode",
    is_flag=True,
    help="Exit 0 when nothing would change, 2 when something would, 1 on errors.",
)
@click.option(
    "--check-remote",
    is_flag=True,
    help="Also check avatar and voice ids against the providers' catalogs "
    "(needs the API keys; cached for a day in .reelform/), and show each "
    "provider's remaining credit beside the estimate.",
)
@click.option(
    "--resubmit-unknown",
    is_flag=True,
    help="Plan to submit again the videos whose earlier submit has an unknown outcome "
    "(named, and counted in the estimate); a saved plan keeps the choice.",
)
@no_reuse_option
@var_option
@target_option
def command(
    targets: tuple[Path, ...],
    as_json: bool,
    fmt: str | None,
    out: Path | None,
    detailed_exitcode: bool,
    check_remote: bool,
    resubmit_unknown: bool,
    no_reuse: bool,
    variables: tuple[str, ...],
    targets_glob: tuple[str, ...],
) -> int:
    """Compare SPEC files (or every spec under DIR) with their lockfiles.

    Shows each video that apply would create, replace (naming the changed
    fields), resume (poll, never resubmit), retry, download again, copy
    (the same render is already done, or made once by this run), or leave
    alone, the orphans (in the lockfile, no longer in the spec), and an
    estimate: videos to render, seconds of video, JoggAI credits.

    A spec found all unchanged is remembered in .reelform/cache/ (digests of
    everything its expansion read), so the next plan of the same inputs is not
    expanded again; `rm -rf .reelform/cache` clears it.
    """
    var_overrides = parse_vars(variables)
    # The expansion memo (memo/) serves and remembers whole-spec plans only: with
    # --target or --resubmit-unknown the full path plans, as it always did.
    code = None
    if not targets_glob and not resubmit_unknown:
        from reelform.memo.code import code_identity

        code = code_identity()  # before anything is read: the code that reads it
    plans: list[SpecPlan] | None = None
    summaries: dict[Path, LockSummary] = {}
    if code is not None and not check_remote:  # --check-remote needs the expanded videos
        from reelform.memo.serve import memo_plans

        served = memo_plans(default_targets(targets), var_overrides, code)
        plans, summaries = served.plans, served.summaries
    quotas = None
    prepared: list[Prepared] = []
    if plans is None:
        from reelform.project import plan_all, prepare_all, target_filter

        # The states the memo read (and found changed) are not read again.
        prepared = prepare_all(default_targets(targets), var_overrides, summaries=summaries)
        if check_remote:
            from reelform.remote import check_remote as check

            check(prepared)
        selected = target_filter(targets_glob)
        # Printed and saved, never applied: a no-op spec's plan needs no requests (as
        # the memo's; its keys are made on two cores: spec_requests.py).
        plans = plan_all(
            prepared,
            selected,
            reuse=not no_reuse,
            resubmit_unknown=resubmit_unknown,
            for_apply=False,
        )
        quotas = remote_quotas(prepared, plans) if check_remote else None
    fmt = "json" if as_json else (fmt or "text")
    if fmt == "json":
        document = plan_json(plans)
        if quotas is not None:
            document["quota"] = [q.to_json() for q in quotas]
        sys.stdout.write(orjson.dumps(document, option=orjson.OPT_INDENT_2).decode() + "\n")
    elif fmt == "markdown":
        from reelform.plan.markdown import render_markdown

        sys.stdout.write(render_markdown(plans, [q.line() for q in quotas or ()]))
    else:
        write_text(plans)
        sys.stdout.write("".join(f"{q.line()}\n" for q in quotas or ()))
    if out is not None:
        from reelform.plan.saved import saved_plan

        try:
            saved = saved_plan(
                plans, var_overrides, targets_glob, resubmit_unknown, no_reuse=no_reuse
            )
            atomic_write(out, saved)
        except OSError as exc:
            raise ConfigError(
                f"--out {out}: cannot write the plan: {exc.strerror or exc}"
            ) from None
        click.echo(f"Saved the plan to {out}; apply it with: reelform apply {out}", err=True)
    if code is not None and prepared:  # planned in full: the next plan may not need to
        from reelform.memo.serve import remember

        remember(prepared, plans, var_overrides, code)
    heap.keep(prepared, plans, summaries)  # freed at exit, all at once (heap.py)
    if detailed_exitcode:
        return 2 if any(p.changes for p in plans) else 0
    return 0
