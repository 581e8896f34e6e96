"""`reelform apply`: make the videos exist, and record them in the lockfiles."""

from __future__ import annotations

import asyncio
import contextlib
import re
import signal
import sys
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import click

from reelform.apply.executor import ApplyOptions, Outcome
from reelform.apply.progress import make_reporter
from reelform.apply.run import apply_plans, locked
from reelform.commands.common import default_targets, parse_vars, target_option, var_option
from reelform.errors import ConfigError
from reelform.plan.diff import Action, SpecPlan, force_replace, resubmitting
from reelform.plan.saved import check_fresh, is_plan_file, load_saved_plan
from reelform.plan.show import render_text, total_estimate, use_color
from reelform.project import plan_prepared, prepare_all, target_filter
from reelform.registry import provider_traits
from reelform.secrets import environment, redact
from reelform.speclang.load import find_specs, lock_path_for


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
    "--resubmit-unknown",
    is_flag=True,
    help="Submit again videos whose earlier submit has an unknown outcome "
    "(you may pay twice for those).",
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
    help="Public URL that reaches --listen; providers call URL/<provider>.",
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
@var_option
def command(
    targets: tuple[Path, ...],
    yes: bool,
    parallel: int,
    targets_glob: tuple[str, ...],
    replace: tuple[str, ...],
    prune: bool,
    max_credits: int | None,
    resubmit_unknown: bool,
    wait_lock: bool,
    webhook_url: str | None,
    listen: str | None,
    timeout: float | None,
    as_json: bool,
    variables: tuple[str, ...],
) -> int:
    """Apply SPEC files (or every spec under DIR, or a saved PLANFILE).

    Uploads assets once, creates photo avatars, submits renders within each
    provider's rate limit, polls (or receives webhooks), downloads each
    finished video into the spec's output folder and records it in the
    lockfile. Safe to interrupt and run again: submitted jobs are resumed,
    never submitted twice. Exit 0 only when every video of the plan succeeded.
    """
    saved = None
    if len(targets) == 1 and targets[0].is_file() and is_plan_file(targets[0]):
        saved = load_saved_plan(targets[0])
        spec_paths = [Path(s) for s in saved.specs]
        var_overrides = saved.variables
        globs = tuple(saved.targets)
        # What was reviewed: a plan saved with --resubmit-unknown resubmits, and no other.
        resubmit_unknown = resubmit_unknown or saved.resubmit_unknown
    else:
        spec_paths = find_specs(default_targets(targets))
        var_overrides = parse_vars(variables)
        globs = targets_glob
    if bool(webhook_url) != bool(listen):
        raise ConfigError("--webhook-url and --listen go together")
    if not yes and not sys.stdin.isatty():
        raise ConfigError("apply needs --yes when stdin is not a terminal")

    lock_paths = [lock_path_for(p) for p in spec_paths]  # a symlink's lock is the real spec's
    with locked(lock_paths, [str(p) for p in spec_paths], wait=wait_lock):
        # Planned under the lock: what we apply is what nobody else is changing.
        prepared = prepare_all(spec_paths, var_overrides)
        plans = [plan_prepared(p, target_filter(globs)) for p in prepared]
        if replace:
            plans = [force_replace(plan, replace) for plan in plans]
        if resubmit_unknown:  # named, estimated and counted in --max-credits
            plans = [resubmitting(plan) for plan in plans]
        if saved is not None:
            check_fresh(saved, plans, targets[0])
        estimate = total_estimate(plans)
        if max_credits is not None and estimate.credits > max_credits:
            raise ConfigError(
                f"the plan needs about {estimate.credits:,} JoggAI credits, more "
                f"than --max-credits {max_credits:,}; nothing was done"
            )
        env = environment()  # keys may come from a .env file too (DESIGN.md 7)
        if webhook_url:
            _check_webhook_secrets(plans, env)
        if not any(p.changes for p in plans):
            click.echo(render_text(plans, use_color(sys.stdout)), nl=False)
            return 0
        if not as_json:
            click.echo(render_text(plans, use_color(sys.stdout)), nl=False)
        if not yes and not click.confirm("Apply this plan?", default=False):
            click.echo("Nothing was done.")
            return 1
        options = ApplyOptions(
            parallel=parallel, resubmit_unknown=resubmit_unknown, prune=prune, timeout=timeout
        )
        if webhook_url and listen:
            from reelform.apply.webhooks import WebhookReceiver

            options.webhooks = WebhookReceiver(webhook_url, listen)
        with sigterm_as_interrupt():
            outcomes = asyncio.run(
                apply_plans(prepared, plans, options, make_reporter(as_json), env=env)
            )
    return summarize(outcomes, as_json)


def _check_webhook_secrets(plans: Sequence[SpecPlan], env: Mapping[str, str]) -> None:
    """A provider that signs its deliveries with the user's secret needs that secret."""
    used = {
        i.provider
        for p in plans
        for i in p.items
        if i.kind == "video" and i.action is not Action.ORPHAN  # its plugin may be gone
    }
    for name in sorted(used):
        traits = provider_traits(name)
        variable = traits.webhook_secret_variable
        if variable and not env.get(variable):
            raise ConfigError(
                f"--webhook-url: {traits.label} signs its deliveries with your webhook "
                f"secret; set {variable}, or every delivery would be "
                "rejected and videos noticed only by the slow safety poll"
            )


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
