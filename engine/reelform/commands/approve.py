"""`reelform approve`: approve (or reject) renders from the terminal.

The gallery's buttons do the same through ``state.approvals.record_approvals``;
both approve what the current plan would render, at the identity it would render.
"""

from __future__ import annotations

from pathlib import Path

import click

from reelform.commands.common import parse_vars, var_option
from reelform.errors import ConfigError
from reelform.plan.approval import choose, needs_approval, status
from reelform.plan.diff import Approval
from reelform.project import plan_prepared, prepare_all
from reelform.state.approvals import approvals_path, read_approvals, record_approvals


@click.command("approve")
@click.argument("spec", type=click.Path(path_type=Path))
@click.argument("names", nargs=-1, metavar="[NAME]...")
@click.option("--all", "everything", is_flag=True, help="Every video the plan would render.")
@click.option(
    "--reject",
    is_flag=True,
    help="Withdraw the approval of NAME instead (with --all: every approval of the spec).",
)
@var_option
def command(
    spec: Path, names: tuple[str, ...], everything: bool, reject: bool, variables: tuple[str, ...]
) -> int:
    """Approve the renders of SPEC that the plan would make: NAME ... (globs allowed,
    e.g. 'welcome-*') or --all.

    An approval is recorded in SPEC.approvals (beside the spec; commit it) by the
    video's render identity: any later change to the video voids it.
    `reelform apply --approved` submits only approved renders. Approve what you
    watched: `reelform review --preview` renders previews offline.
    """
    if not names and not everything:
        raise ConfigError("approve: name the videos to approve (globs allowed), or use --all")
    if names and everything:
        raise ConfigError("approve: give NAMEs or --all, not both")
    if spec.is_dir():
        raise ConfigError(f"approve: {spec} is a folder; approvals are per spec, name one file")
    [prepared] = prepare_all([spec], parse_vars(variables))
    plan = plan_prepared(prepared)
    before = read_approvals(spec)
    choice = choose(
        plan, names, everything=everything, reject=reject, approved_names=list(before.by_name)
    )
    after = record_approvals(spec, choice.approve, choice.reject)
    path = approvals_path(spec)
    if reject:
        withdrawn = sum(1 for n in choice.reject if n in before.by_name)
        unapproved = len(choice.reject) - withdrawn
        click.echo(
            f"Withdrew {withdrawn:,} approval{'s' if withdrawn != 1 else ''} in {path}"
            + (f" ({unapproved:,} had none)." if unapproved else ".")
        )
    else:
        already = sum(1 for n, i in choice.approve.items() if before.approved(n, i))
        count = len(choice.approve)
        click.echo(
            f"Approved {count:,} render{'s' if count != 1 else ''} in {path}"
            + (f" ({already:,} already were)." if already else ".")
        )
    renders = [i for i in plan.items if needs_approval(i)]
    approved = sum(1 for i in renders if status(after, i) is Approval.APPROVED)
    if renders:
        click.echo(f"{approved:,} of {len(renders):,} renders of {plan.spec} are approved.")
    return 0
