"""unchanged_plan's checks, each on its own: a pure function of requests and a summary.

The property test (tests/properties/test_unchanged_plan.py) holds it to the full diff
over generated projects; a case it draws rarely (every video unchanged, and one orphan
or one superseded record) is pinned here, with and without a --target selection."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from reelform.plan.fingerprint import Request
from reelform.plan.unchanged import memo_of, unchanged_by_memo, unchanged_plan
from reelform.state.preload import LockSummary, unchanged_key

SELECTIONS: list[Callable[[str], bool] | None] = [None, lambda name: True]


def request(name: str, title: str | None = None) -> Request:
    fingerprint = (name.encode().hex() * 64)[:64]
    labels = ("title",) if title is not None else ()
    return Request(name, "local", {"title": title}, fingerprint, 1.0, (title,), labels)


def summary_of(
    requests: list[Request], *, extra: dict[str, str | None] | None = None, superseded=()
) -> LockSummary:
    videos = {r.name: unchanged_key(r.fingerprint, r.labels[0]) for r in requests}
    return LockSummary("digest", {}, {}, {**videos, **(extra or {})}, frozenset(superseded))


DESIRED = [request("a"), request("b", "Hello"), request("c")]


@pytest.mark.parametrize("selected", SELECTIONS, ids=["whole spec", "--target"])
def test_all_unchanged_is_answered(selected: Callable[[str], bool] | None) -> None:
    plan = unchanged_plan("s.yaml", DESIRED, [], summary_of(DESIRED), "s.lock", selected)
    assert plan is not None and plan.unchanged == 3 and not plan.items
    assert set(plan.requests) == {"a", "b", "c"}
    memo = memo_of(DESIRED, [])
    assert memo is not None
    assert unchanged_by_memo("s.yaml", memo, summary_of(DESIRED), "s.lock") == plan.__class__(
        spec="s.yaml", lock="s.lock", lock_digest=plan.lock_digest, items=(), unchanged=3
    )


@pytest.mark.parametrize("selected", SELECTIONS, ids=["whole spec", "--target"])
@pytest.mark.parametrize(
    "summary",
    [
        summary_of(DESIRED, extra={"gone": "f" * 64}),  # an orphan
        summary_of(DESIRED, extra={"gone": None}),  # an orphan not completed
        summary_of(DESIRED, superseded=["b"]),  # a record keeping superseded jobs
        summary_of(DESIRED[:2]),  # a video never made
        summary_of([DESIRED[0], request("b", "Other title"), DESIRED[2]]),  # a new label
        summary_of(DESIRED, extra={"c": None}),  # its output not intact
    ],
    ids=["orphan", "orphan not completed", "superseded", "absent", "relabel", "not intact"],
)
def test_anything_else_is_left_to_the_diff(
    summary: LockSummary, selected: Callable[[str], bool] | None
) -> None:
    assert unchanged_plan("s.yaml", DESIRED, [], summary, "s.lock", selected) is None
    memo = memo_of(DESIRED, [])
    assert memo is not None
    assert unchanged_by_memo("s.yaml", memo, summary, "s.lock") is None


def test_a_selection_looks_only_at_its_videos() -> None:
    summary = summary_of(DESIRED, extra={"c": None, "gone": "f" * 64})
    plan = unchanged_plan("s.yaml", DESIRED, [], summary, "s.lock", lambda n: n in ("a", "b"))
    assert plan is not None and plan.unchanged == 2 and set(plan.requests) == {"a", "b"}
