"""The providers' remaining credit, beside the plan's estimate (docs/design.md, "Credits").

`plan --check-remote` shows it; `apply` reads it before starting and refuses a plan
whose estimate exceeds it (unless `--ignore-quota`). Only providers whose API tells
the balance are asked (``traits.reads_quota``: JoggAI's
``GET /v2/user/remaining_quota``); Mirako documents no such endpoint, which is said
rather than guessed. A reading that fails is never an error of its own: the plan is
shown and apply goes on, the in-run stop on "insufficient credit" still holding.

``needed_credits`` and the words are pure; ``read_quotas`` is the one network read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from reelform.apply.decide import QuotaCheck, quota_check
from reelform.errors import ReelformError
from reelform.plan.diff import SpecPlan
from reelform.providers import ProviderContext, make_provider
from reelform.providers.base import ReadsCredits
from reelform.registry import provider_traits
from reelform.secrets import redact


@dataclass(frozen=True)
class QuotaReading:
    """One provider's remaining credit, against what the plan needs of it."""

    provider: str
    needed: int
    remaining: float | None = None
    #: Why there is no reading: it could not be read (the error), or the provider
    #: documents no quota endpoint.
    error: str | None = None

    @property
    def label(self) -> str:
        return provider_traits(self.provider).label

    def check(self, *, ignore: bool = False) -> QuotaCheck:
        return quota_check(self.needed, self.remaining, ignore=ignore)

    def line(self) -> str:
        """`plan --check-remote`'s line, beside the estimate."""
        needs = f"the plan needs about {self.needed:,}"
        if self.remaining is None:
            # A provider without documented prices has no estimate to set beside it.
            priced = provider_traits(self.provider).credits is not None
            return f"Quota: {self.label}: {self.error}" + (f"; {needs}." if priced else ".")
        verdict = {
            QuotaCheck.SHORT: "NOT ENOUGH: apply refuses without --ignore-quota",
            QuotaCheck.ENOUGH: "enough",
            QuotaCheck.NOT_NEEDED: "nothing to spend",
        }[self.check()]
        return f"Quota: {self.label}: {credits_text(self.remaining)} left; {needs} ({verdict})."

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"provider": self.provider, "needed": self.needed}
        data["remaining"] = self.remaining
        if self.error is not None:
            data["error"] = self.error
        data["check"] = self.check().value
        return data


NO_ENDPOINT = (
    "its API documents no quota endpoint; apply stops submitting there at its first "
    '"insufficient credit" answer'
)


def number_text(value: float) -> str:
    """A balance as people read it: whole numbers plain, others to two decimals (a
    balance of 4.5 must never read as "5" beside a need of 5)."""
    return f"{value:,.0f}" if value == int(value) else f"{value:,.2f}"


def credits_text(value: float) -> str:
    return f"{number_text(value)} credit{'' if value == 1 else 's'}"


def needed_credits(plans: Sequence[SpecPlan]) -> dict[str, int]:
    """Credits each provider's renders would cost (the estimate, per provider): every
    item that submits, photo avatars and `--resubmit-unknown` items included."""
    needed: dict[str, int] = {}
    for plan in plans:
        for item in plan.items:
            if item.renders and item.credits:
                needed[item.provider] = needed.get(item.provider, 0) + item.credits
    return needed


def charging_providers(plans: Sequence[SpecPlan], used: Iterable[str]) -> list[str]:
    """The providers to say something about: those that render in the plan or that
    the specs use, and that charge (neither ``local`` nor any free provider)."""
    names = set(used) | {i.provider for p in plans for i in p.items if i.renders}
    return sorted(name for name in names if not provider_traits(name).free)


async def read_quotas(
    plans: Sequence[SpecPlan],
    providers: Iterable[str],
    env: Mapping[str, str],
    *,
    time_scale: float = 1.0,
) -> list[QuotaReading]:
    """One reading per provider in ``providers``, read concurrently."""
    needed = needed_credits(plans)

    async def one(name: str) -> QuotaReading:
        if not provider_traits(name).reads_quota:
            return QuotaReading(name, needed.get(name, 0), error=NO_ENDPOINT)
        try:
            remaining = await _remaining(name, env, time_scale)
        except (ReelformError, OSError) as exc:
            error = redact(f"could not read the remaining quota ({exc})", env)
            return QuotaReading(name, needed.get(name, 0), error=error)
        return QuotaReading(name, needed.get(name, 0), remaining)

    return list(await asyncio.gather(*(one(name) for name in providers)))


async def _remaining(name: str, env: Mapping[str, str], time_scale: float) -> float:
    provider = make_provider(name, {}, ProviderContext(env=env, time_scale=time_scale))
    try:
        if not isinstance(provider, ReadsCredits):
            raise ReelformError(f"{name}: the client has no remaining_credits")
        return await provider.remaining_credits()
    finally:
        await provider.aclose()
