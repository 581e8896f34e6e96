"""One apply session: lock, plan under the lock, check, review, execute, fold.

The CLI (`reelform apply`), the Python API (``reelform.apply``) and watch's previews
all apply through ``apply_session``; none repeats its steps, so a check added here
(the credit budget, the webhook secret) holds for all of them.

1. Every spec's process lock is taken (and a dead run's journal folded).
2. ``planner`` plans *under* the locks: what is applied is what nobody else is
   changing. A saved plan is checked against a fresh one here.
   With `--approved`, the renders nobody approved are then taken out of it.
3. The plan is checked: ``--max-credits`` (unknowns to resubmit included), the
   providers' remaining quota (``--ignore-quota`` overrides, and it is said) and the
   webhook secret; then ``review`` shows it and says whether to go on.
4. ``apply_plans`` executes it; the journals are folded into the lockfiles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reelform.apply.decide import QuotaCheck
from reelform.apply.model import ApplyOptions, Outcome
from reelform.apply.progress import Reporter
from reelform.apply.run import apply_plans, locked, time_scale_from
from reelform.errors import ConfigError
from reelform.plan.approval import hold_back
from reelform.plan.diff import Action, SpecPlan
from reelform.plan.saved import SavedPlan, check_fresh
from reelform.plan.show import total_estimate
from reelform.project import Prepared, plan_all, prepare_all, target_filter, with_approvals
from reelform.registry import provider_traits
from reelform.speclang.load import lock_path_for

Planner = Callable[[], tuple[Sequence[Prepared], Sequence[SpecPlan]]]
#: Shown the plan (always, changes or not); True to go on and apply it.
Review = Callable[[Sequence[SpecPlan]], bool]


@dataclass(frozen=True)
class SessionResult:
    plans: Sequence[SpecPlan]
    #: None when nothing was applied: no changes, or the review said no.
    outcomes: list[Outcome] | None

    @property
    def changes(self) -> bool:
        return any(p.changes for p in self.plans)


@dataclass(frozen=True)
class SpecSelection:
    """Which specs, and how to plan them: the part of `apply`'s options that planning
    reads (the executor's are ``ApplyOptions``)."""

    paths: Sequence[Path]
    variables: Mapping[str, str] = dataclasses.field(default_factory=dict)
    targets: Sequence[str] = ()
    replace: Sequence[str] = ()
    #: `apply PLANFILE`: the reviewed plan, and where it was read from.
    saved: tuple[SavedPlan, Path] | None = None
    #: False: `--no-reuse`, every video the plan needs is rendered (``plan.reuse``).
    reuse: bool = True


async def apply_specs(
    selection: SpecSelection,
    options: ApplyOptions,
    review: Review,
    reporter: Reporter,
    *,
    env: Mapping[str, str],
    wait: bool = False,
    budget_name: str = "--max-credits ",
    quota_name: str = "--ignore-quota",
    notice: Callable[[str], None] = lambda _line: None,
) -> SessionResult:
    """Apply spec files: the session of `reelform apply` and ``reelform.apply``.

    ``budget_name`` and ``quota_name`` name the credit limit and the quota override
    in messages as the caller spells them; ``notice`` shows a line before the review
    (a quota that could not be read, or was overridden)."""

    made: list[Prepared] = []

    def planner() -> tuple[Sequence[Prepared], Sequence[SpecPlan]]:
        prepared = prepare_all(list(selection.paths), selection.variables)
        made.extend(prepared)
        plans = plan_all(
            prepared,
            target_filter(selection.targets),
            reuse=selection.reuse,
            replace=selection.replace,
            resubmit_unknown=options.resubmit_unknown,
        )
        if selection.replace or options.resubmit_unknown or options.approved:
            # Those changed what renders: the approvals of the plan as it now is.
            plans = [with_approvals(plan, required=options.approved) for plan in plans]
        if selection.saved is not None:
            check_fresh(selection.saved[0], plans, selection.saved[1])
        if options.approved:  # after the check: a saved plan lists what it held back too
            plans = [hold_back(plan) for plan in plans]
        return prepared, plans

    paths = list(selection.paths)
    result = await apply_session(
        [lock_path_for(p) for p in paths],  # a symlink's lock is the real spec's
        [str(p) for p in paths],
        planner,
        options,
        review,
        reporter,
        env=env,
        wait=wait,
        budget_name=budget_name,
        quota_name=quota_name,
        notice=notice,
    )
    if result.outcomes is not None:
        from reelform.memo.serve import remember_applied

        # The next `plan` of these inputs, here or in any clone (the state in
        # PostgreSQL), is served without expanding them (memo/).
        remember_applied(made, selection.variables)
    return result


async def apply_session(
    lock_paths: Sequence[Path],
    labels: Sequence[str],
    planner: Planner,
    options: ApplyOptions,
    review: Review,
    reporter: Reporter,
    *,
    env: Mapping[str, str],
    wait: bool = False,
    budget_name: str = "--max-credits ",
    quota_name: str = "--ignore-quota",
    notice: Callable[[str], None] = lambda _line: None,
) -> SessionResult:
    """The steps of the module docstring, for any planner (specs, previews)."""
    with locked(lock_paths, labels, wait=wait) as held:
        prepared, plans = planner()
        check_budget(plans, options.max_credits, budget_name)
        check_webhooks(plans, options, env, shared=held.pg is not None)
        for line in await check_quota(plans, options, env, quota_name):
            notice(line)
        if not review(plans) or not any(p.changes for p in plans):
            reporter.close()
            return SessionResult(plans, None)
        if options.webhook_url and options.listen and options.webhooks is None:
            from reelform.apply.webhooks import WebhookReceiver

            receiver = WebhookReceiver(options.webhook_url, options.listen)
            options = dataclasses.replace(options, webhooks=receiver)
        elif options.webhook_url and options.webhooks is None and held.pg is not None:
            from reelform.apply.webhooks import RemoteWebhooks

            remote = RemoteWebhooks(options.webhook_url)
            options = dataclasses.replace(options, webhooks=remote)
        outcomes = await apply_plans(prepared, plans, options, reporter, env=env, held=held)
    return SessionResult(plans, outcomes)


def check_budget(
    plans: Sequence[SpecPlan], max_credits: int | None, name: str = "--max-credits "
) -> None:
    estimate = total_estimate(plans)
    if max_credits is not None and estimate.credits > max_credits:
        raise ConfigError(
            f"the plan needs about {estimate.credits:,} JoggAI credits, more "
            f"than {name}{max_credits:,}; nothing was done"
        )


async def check_quota(
    plans: Sequence[SpecPlan],
    options: ApplyOptions,
    env: Mapping[str, str],
    name: str = "--ignore-quota",
) -> list[str]:
    """Refuse (``ConfigError``, nothing done) a plan whose estimate exceeds a
    provider's remaining quota, unless overridden; the lines to show otherwise.

    Only providers the plan spends credits at and whose API tells the balance are
    asked, so a plan of `local` videos (or one with nothing to render) reads nothing."""
    from reelform.quota import needed_credits, number_text, read_quotas

    needed = needed_credits(plans)
    asked = sorted(p for p, n in needed.items() if n > 0 and provider_traits(p).reads_quota)
    if not asked:
        return []
    lines: list[str] = []
    readings = await read_quotas(plans, asked, env, time_scale=time_scale_from(env))
    for reading in readings:
        label, check = reading.label, reading.check(ignore=options.ignore_quota)
        have = number_text(reading.remaining) if reading.remaining is not None else "?"
        if check is QuotaCheck.SHORT:
            raise ConfigError(
                f"the plan needs about {reading.needed:,} {label} credits and {label} has "
                f"{have} left; nothing was done. Top up, apply fewer videos (--target), "
                f"or pass {name} to start anyway (apply stops submitting when the credit "
                "runs out, and leaves the rest to create)"
            )
        if check is QuotaCheck.OVERRIDDEN:
            lines.append(
                f"Quota: the plan needs about {reading.needed:,} {label} credits and {label} "
                f"has {have} left; starting anyway ({name}). Apply stops submitting when "
                "the credit runs out and leaves the rest to create."
            )
        elif check is QuotaCheck.UNREAD:
            lines.append(
                f"Quota: {label}: {reading.error}; not checked. Apply stops submitting if "
                "the credit runs out."
            )
    return lines


def check_webhooks(
    plans: Sequence[SpecPlan],
    options: ApplyOptions,
    env: Mapping[str, str],
    *,
    shared: bool = False,
) -> None:
    """--webhook-url and --listen go together (but with the state in PostgreSQL,
    ``shared``, --webhook-url alone names another runner's receiver), and a provider
    that signs its deliveries with the user's secret needs that secret."""
    if options.listen and not options.webhook_url:
        raise ConfigError("--webhook-url and --listen go together")
    if options.webhook_url and not options.listen and not shared:
        raise ConfigError(
            "--webhook-url and --listen go together (--webhook-url alone, naming another "
            'runner\'s receiver, needs the state in PostgreSQL: [state] backend = "postgres")'
        )
    if not options.webhook_url:
        return
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
