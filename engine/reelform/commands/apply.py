"""`reelform apply`: make the videos exist, and record them in the lockfiles."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path

import click

from reelform.apply.model import ApplyOptions, Outcome
from reelform.apply.progress import make_reporter
from reelform.apply.session import SpecSelection, apply_specs
from reelform.commands.common import (
    default_targets,
    no_reuse_option,
    parse_vars,
    target_option,
    var_option,
)
from reelform.errors import ConfigError
from reelform.plan.approval import held_back_line
from reelform.plan.diff import SpecPlan
from reelform.plan.saved import is_plan_file, load_saved_plan
from reelform.plan.show import render_text, use_color
from reelform.registry import provider_traits
from reelform.secrets import environment, redact
from reelform.speclang.load import find_specs


def parse_duration(ctx: click.Context, param: click.Parameter, value: str | None) -> float | None:
    """Seconds from 90, 90s, 45m, 2h or 1h30m (a bare number is seconds; "1h30" is
    refused rather than guessed)."""
    if value is None:
        return None
    text = value.strip().lower()
    if re.fullmatch(r"\d+(?:\.\d+)?", text):
        return float(text)
    number = r"(\d+(?:\.\d+)?)"
    match = re.fullmatch(rf"(?:{number}h)?(?:{number}m)?(?:{number}s)?", text)
    if match is None or not any(match.groups()):
        raise click.BadParameter(f"{value!r} is not a duration (e.g. 90s, 45m, 2h, 1h30m)")
    hours, minutes, seconds = (float(g) if g else 0.0 for g in match.groups())
    return hours * 3600 + minutes * 60 + seconds


@click.command("apply")
@click.argument("targets", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "-y",
    "--yes",
    is_flag=True,
    help="Apply without asking (required when stdin is not a terminal, e.g. in CI).",
)
@click.option(
    "--parallel",
    type=click.IntRange(1, 256),
    default=8,
    show_default=True,
    help="Uploads and submits in flight at once (and as many downloads).",
)
@target_option
@click.option(
    "--replace",
    "replace",
    multiple=True,
    metavar="NAME",
    help="Render NAME again even if unchanged (repeatable; globs allowed).",
)
@click.option(
    "--prune", is_flag=True, help="Remove orphaned videos (outputs and lock entries), nothing else."
)
@click.option(
    "--max-credits",
    type=click.IntRange(0),
    default=None,
    metavar="N",
    help="Refuse to start when the plan's JoggAI credit estimate exceeds N.",
)
@click.option(
    "--ignore-quota",
    is_flag=True,
    help="Start even when the estimate exceeds a provider's remaining credit "
    "(read before starting; apply stops submitting when it runs out).",
)
@click.option(
    "--resubmit-unknown",
    is_flag=True,
    help="Submit again videos whose earlier submit has an unknown outcome "
    "(you may pay twice for those).",
)
@click.option(
    "--approved",
    is_flag=True,
    help="Submit only the renders approved in the review gallery or with `reelform "
    "approve` (SPEC.approvals); says how many were held back. Resumes and downloads "
    "of jobs already made go on.",
)
@click.option(
    "--wait",
    "wait_lock",
    is_flag=True,
    help="Wait for another apply on the same spec to finish instead of stopping.",
)
@click.option(
    "--webhook-url",
    metavar="URL",
    help=(
        "Public URL that reaches --listen; providers call URL/<provider>. With the "
        "state in PostgreSQL, alone: another runner's --listen receives this run's "
        "deliveries and records them in the database, where this run reads them."
    ),
)
@click.option("--listen", metavar="HOST:PORT", help="Where to receive webhooks.")
@click.option(
    "--timeout",
    callback=parse_duration,
    metavar="DURATION",
    help="Stop submitting and waiting after DURATION (e.g. 90s, 45m, 2h); "
    "renders still running are picked up by the next apply.",
)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON event stream (for CI).")
@no_reuse_option
@var_option
def command(
    targets: tuple[Path, ...],
    yes: bool,
    parallel: int,
    targets_glob: tuple[str, ...],
    replace: tuple[str, ...],
    prune: bool,
    max_credits: int | None,
    ignore_quota: bool,
    resubmit_unknown: bool,
    approved: bool,
    wait_lock: bool,
    webhook_url: str | None,
    listen: str | None,
    timeout: float | None,
    as_json: bool,
    no_reuse: bool,
    variables: tuple[str, ...],
) -> int:
    """Apply SPEC files (or every spec under DIR, or a saved PLANFILE).

    Uploads assets once, creates photo avatars, submits renders within each
    provider's rate limit, polls (or receives webhooks), downloads each
    finished video into the spec's output folder and records it in the
    lockfile. Safe to interrupt and run again: submitted jobs are resumed,
    never submitted twice. Exit 0 only when every video of the plan succeeded
    (with --approved, videos held back for want of approval do not count).
    """
    if not yes and not sys.stdin.isatty():
        raise ConfigError("apply needs --yes when stdin is not a terminal")
    if len(targets) == 1 and targets[0].is_file() and is_plan_file(targets[0]):
        saved = load_saved_plan(targets[0])
        selection = SpecSelection(
            [Path(s) for s in saved.specs],
            saved.variables,
            tuple(saved.targets),
            replace,
            saved=(saved, targets[0]),
            # What was reviewed: a plan saved with --no-reuse renders its copies too.
            reuse=not (no_reuse or saved.no_reuse),
        )
        # What was reviewed: a plan saved with --resubmit-unknown resubmits, and no other.
        resubmit_unknown = resubmit_unknown or saved.resubmit_unknown
    else:
        selection = SpecSelection(
            find_specs(default_targets(targets)),
            parse_vars(variables),
            targets_glob,
            replace,
            reuse=not no_reuse,
        )
    options = ApplyOptions(
        parallel=parallel,
        resubmit_unknown=resubmit_unknown,
        prune=prune,
        timeout=timeout,
        max_credits=max_credits,
        ignore_quota=ignore_quota,
        webhook_url=webhook_url,
        listen=listen,
        approved=approved,
    )

    def review(plans: Sequence[SpecPlan]) -> bool:
        changes = any(p.changes for p in plans)
        if not as_json or not changes:
            click.echo(render_text(plans, use_color(sys.stdout)), nl=False)
        if changes and not yes and not click.confirm("Apply this plan?", default=False):
            click.echo("Nothing was done.")
            return False
        return True

    env = environment()  # keys may come from a .env file too (docs/design.md, "Secrets")
    with sigterm_as_interrupt():
        result = asyncio.run(
            apply_specs(
                selection,
                options,
                review,
                make_reporter(as_json),
                env=env,
                wait=wait_lock,
                notice=lambda line: click.echo(line, err=True),
            )
        )
    if result.outcomes is None:
        if as_json and not result.changes:
            held_back(result.plans, as_json)  # the text plan said it already
        return 1 if result.changes else 0  # declined, or nothing to do
    code = summarize(result.outcomes, as_json)
    held_back(result.plans, as_json)
    return code


def held_back(plans: Sequence[SpecPlan], as_json: bool) -> None:
    """`--approved`: say what was not submitted, after the summary (holding back is
    what was asked for, so it does not change the exit code)."""
    line = held_back_line(plans)
    if line:
        stream = sys.stderr if as_json else sys.stdout
        print(
            f"{line[0].upper()}{line[1:]} Approve them with `reelform approve` or in the "
            "review gallery, then apply again.",
            file=stream,
        )


def credit_lines(outcomes: list[Outcome]) -> list[str]:
    """Why apply stopped submitting, per provider whose account ran out of credit."""
    left = Counter(o.no_credit for o in outcomes if o.no_credit)
    lines = []
    for provider, count in sorted(left.items()):
        label = provider_traits(provider).label
        videos = "video was" if count == 1 else "videos were"
        lines.append(
            f"Stopped submitting to {label}: it answered insufficient credit. {count:,} "
            f"{videos} not submitted and left to create (nothing was charged for them); "
            "top up and run apply again."
        )
    return lines


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """SIGTERM (`docker stop`, a CI runner's cancel) stops apply as Ctrl-C does.

    Killed by the default action instead, apply would leave its journal unfolded:
    on a CI runner that is thrown away, the record of jobs already paid for would
    be lost with it. As SIGINT, the run stops, folds the journal into the lockfile
    and exits 130."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(
        signal.SIGTERM, lambda _signum, _frame: signal.raise_signal(signal.SIGINT)
    )
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def summarize(outcomes: list[Outcome], as_json: bool) -> int:
    """The final summary; exit 0 only when everything in the plan succeeded."""
    counts = Counter(o.status for o in outcomes)
    stream = sys.stderr if as_json else sys.stdout
    words = [
        f"{counts[s]:,} {w}"
        for s, w in (
            ("completed", "completed"),
            ("elsewhere", "completed by other runners (`reelform apply` here downloads them)"),
            ("moved", "moved"),
            ("failed", "failed"),
            ("running", "still running"),
            ("pending", "not started"),
            ("unknown", "unknown"),
            ("pruned", "pruned"),
            ("skipped", "orphans left"),
        )
        if counts[s]
    ]
    print("", file=stream)
    print("Apply: " + (", ".join(words) or "nothing to do") + ".", file=stream)
    for line in credit_lines(outcomes):
        print(line, file=stream)
    for outcome in sorted(outcomes, key=lambda o: (o.status, o.spec, o.name)):
        if not outcome.ok:
            print(
                f"  {outcome.status:<8} {outcome.name} ({outcome.spec}): {outcome.reason}",
                file=stream,
            )
    bugs = [o for o in outcomes if o.bug]
    for outcome in bugs:  # the journal is already folded into the lockfile
        print(redact(outcome.bug or ""), file=sys.stderr)
    if bugs:
        print(
            f"reelform: internal error in {len(bugs)} video(s) (a bug; please report it "
            "with the text above). Every job id is recorded in the lockfile.",
            file=sys.stderr,
        )
        return 3
    return 0 if all(o.ok for o in outcomes) else 1
