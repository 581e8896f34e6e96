"""The credit rules, one table each: apply/decide.py's quota check and stop (pure),
the per-provider estimate they read (quota.needed_credits), and the words of
`plan --check-remote` (QuotaReading)."""

from __future__ import annotations

import pytest

from reelform.apply.decide import QuotaCheck, credit_account, may_submit, quota_check
from reelform.plan.diff import Action, PlanItem, SpecPlan
from reelform.quota import (
    NO_ENDPOINT,
    QuotaReading,
    charging_providers,
    needed_credits,
    number_text,
)

NOT_NEEDED, UNREAD, ENOUGH, SHORT, OVERRIDDEN = (
    QuotaCheck.NOT_NEEDED,
    QuotaCheck.UNREAD,
    QuotaCheck.ENOUGH,
    QuotaCheck.SHORT,
    QuotaCheck.OVERRIDDEN,
)


@pytest.mark.parametrize(
    ("needed", "remaining", "ignore", "check"),
    [
        (0, None, False, NOT_NEEDED),  # nothing to render: no read, nothing said
        (0, 0.0, False, NOT_NEEDED),
        (5, None, False, UNREAD),  # never a reason to refuse
        (5, None, True, UNREAD),
        (5, 5.0, False, ENOUGH),  # exactly enough is enough
        (5, 1000.0, False, ENOUGH),
        (5, 4.5, False, SHORT),
        (5, 0.0, False, SHORT),
        (5, -2.0, False, SHORT),  # an overdrawn account
        (5, 4.0, True, OVERRIDDEN),
        (5, 6.0, True, ENOUGH),  # --ignore-quota with enough: nothing to override
    ],
)
def test_quota_check(needed: int, remaining: float | None, ignore: bool, check: QuotaCheck) -> None:
    assert quota_check(needed, remaining, ignore=ignore) is check


@pytest.mark.parametrize(
    ("provider", "exhausted", "allowed"),
    [
        ("jogg", set(), True),
        ("jogg", {"jogg"}, False),  # every spec, slot, API version and photo avatar
        ("mirako", {"jogg"}, True),  # another key, another account
        ("mirako", {"mirako"}, False),  # its speech synthesis too
        ("jogg", {"jogg", "mirako"}, False),
    ],
)
def test_may_submit(provider: str, exhausted: set[str], allowed: bool) -> None:
    assert may_submit(provider, exhausted) is allowed


def test_the_account_is_the_providers() -> None:
    assert {credit_account(p) for p in ("jogg", "mirako")} == {"jogg", "mirako"}


def item(
    action: Action, provider: str, credits: int, *, kind: str = "video", resubmit: bool = False
) -> PlanItem:
    name = f"{action}-{provider}-{credits}"
    return PlanItem(action, name, provider, kind=kind, credits=credits, resubmit=resubmit)


def test_needed_credits_count_what_submits_per_provider() -> None:
    plan = SpecPlan(
        "s.yaml",
        "s.lock",
        "",
        (
            item(Action.CREATE, "jogg", 2),
            item(Action.REPLACE, "jogg", 1),
            item(Action.RETRY, "jogg", 3),
            item(Action.CREATE, "jogg", 2, kind="avatar"),  # a photo avatar's motion
            item(Action.UNKNOWN, "jogg", 5, resubmit=True),  # --resubmit-unknown
            item(Action.UNKNOWN, "jogg", 7),  # left alone: not paid
            item(Action.RESUME, "jogg", 9),  # polled: paid already
            item(Action.DOWNLOAD, "jogg", 9),
            item(Action.CREATE, "mirako", 0),
            item(Action.CREATE, "local", 0),
        ),
        0,
    )
    assert needed_credits([plan, plan]) == {"jogg": 2 * (2 + 1 + 3 + 2 + 5)}
    assert charging_providers([plan], ["local"]) == ["jogg", "mirako"]


@pytest.mark.parametrize(
    ("reading", "line"),
    [
        (
            QuotaReading("jogg", 6, 4.0),
            "Quota: JoggAI: 4 credits left; the plan needs about 6 "
            "(NOT ENOUGH: apply refuses without --ignore-quota).",
        ),
        (
            QuotaReading("jogg", 6, 1000.0),
            "Quota: JoggAI: 1,000 credits left; the plan needs about 6 (enough).",
        ),
        (
            QuotaReading("jogg", 0, 1.0),
            "Quota: JoggAI: 1 credit left; the plan needs about 0 (nothing to spend).",
        ),
        (
            QuotaReading("jogg", 2, 1.5),
            "Quota: JoggAI: 1.50 credits left; the plan needs about 2 "
            "(NOT ENOUGH: apply refuses without --ignore-quota).",
        ),
        (
            QuotaReading("jogg", 2, error="could not read the remaining quota (x)"),
            "Quota: JoggAI: could not read the remaining quota (x); the plan needs about 2.",
        ),
        (
            QuotaReading("mirako", 0, error=NO_ENDPOINT),
            f"Quota: Mirako: {NO_ENDPOINT}.",  # no documented prices: no estimate
        ),
    ],
)
def test_the_plan_line(reading: QuotaReading, line: str) -> None:
    assert reading.line() == line


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0, "0"), (3.0, "3"), (1234.0, "1,234"), (4.5, "4.50"), (4.999, "5.00"), (-1.0, "-1")],
)
def test_a_balance_reads_as_it_is(value: float, text: str) -> None:
    assert number_text(value) == text
