"""One apply session: lock, plan under the lock, check, review, execute, fold.

The CLI (`reelform apply`), the Python API (``reelform.apply``) and watch's previews
all apply through ``apply_session``; none repeats its steps, so a check added here
(the credit budget, the webhook secret) holds for all of them.

1. Every spec's process lock is taken (and a dead run's journal folded).
2. ``planner`` plans *under* the locks: what is applied is what nobody else is
   changing. A saved plan is checked against a fresh one here.
3. The plan is checked: ``--max-credits`` (unknowns to resubmit included) and the
   webhook secret; then ``review`` shows it and says whether to go on.
4. ``apply_plans`` executes it; the journals are folded into the lockfiles.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reelform.apply.model import ApplyOptions, Outcome
from reelform.apply.progress import Reporter
from reelform.apply.run import apply_plans, locked
from reelform.errors import ConfigError
from reelform.plan.diff import Action, SpecPlan, force_replace, resubmitting
from reelform.plan.saved import SavedPlan, check_fresh
from reelform.plan.show import total_estimate
from reelform.project import Prepared, plan_prepared, prepare_all, target_filter
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


async def apply_specs(
    selection: SpecSelection,
    options: ApplyOptions,
    review: Review,
    reporter: Reporter,
    *,
    env: Mapping[str, str],
    wait: bool = False,
    budget_name: str = "--max-credits ",
) -> SessionResult:
    """Apply spec files: the session of `reelform apply` and ``reelform.apply``.

    ``budget_name`` names the credit limit in its error as the caller spells it."""

    def planner() -> tuple[Sequence[Prepared], Sequence[SpecPlan]]:
        prepared = prepare_all(list(selection.paths), selection.variables)
        plans = [plan_prepared(p, target_filter(selection.targets)) for p in prepared]
        if selection.replace:
            plans = [force_replace(plan, selection.replace) for plan in plans]
        if options.resubmit_unknown:  # named, estimated and counted in --max-credits
            plans = [resubmitting(plan) for plan in plans]
        if selection.saved is not None:
            check_fresh(selection.saved[0], plans, selection.saved[1])
        return prepared, plans

    paths = list(selection.paths)
    return await apply_session(
        [lock_path_for(p) for p in paths],  # a symlink's lock is the real spec's
        [str(p) for p in paths],
        planner,
        options,
        review,
        reporter,
        env=env,
        wait=wait,
        budget_name=budget_name,
    )


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
) -> SessionResult:
    """The steps of the module docstring, for any planner (specs, previews)."""
    with locked(lock_paths, labels, wait=wait) as held:
        prepared, plans = planner()
        check_budget(plans, options.max_credits, budget_name)
        check_webhooks(plans, options, env)
        if not review(plans) or not any(p.changes for p in plans):
            reporter.close()
            return SessionResult(plans, None)
        if options.webhook_url and options.listen and options.webhooks is None:
            from reelform.apply.webhooks import WebhookReceiver

            receiver = WebhookReceiver(options.webhook_url, options.listen)
            options = dataclasses.replace(options, webhooks=receiver)
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


def check_webhooks(
    plans: Sequence[SpecPlan], options: ApplyOptions, env: Mapping[str, str]
) -> None:
    """--webhook-url and --listen go together, and a provider that signs its deliveries
    with the user's secret needs that secret."""
    if bool(options.webhook_url) != bool(options.listen):
        raise ConfigError("--webhook-url and --listen go together")
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
