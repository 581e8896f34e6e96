"""`plan --format markdown`: a plan summary for a pull-request comment.

Counts and the estimate first, then one section per spec that changes: a line
with its counts, and a table of its changes grouped by action (creates together,
replaces with the fields that changed...). A table longer than ``FOLD_AFTER``
rows is folded into <details> so the comment stays short; specs without changes
are named in one line at the end. Deterministic: the same plan gives the same
text, so an updated comment changes only where the plan did.
"""

from __future__ import annotations

from collections.abc import Sequence

from reelform.plan.approval import approval_line
from reelform.plan.diff import Action, PlanItem, SpecPlan
from reelform.plan.show import ORDER, SYMBOLS, approval_text, duration_text, estimate_line

FOLD_AFTER = 20
WORDS = {
    Action.CREATE: "to create",
    Action.REPLACE: "to replace",
    Action.RESUME: "to resume",
    Action.RETRY: "to retry",
    Action.UNKNOWN: "unknown",
    Action.DOWNLOAD: "to download",
    Action.MOVE: "to move",
    Action.COPY: "to copy",
    Action.ORPHAN: "orphaned",
    Action.UNCHANGED: "unchanged",
}


def render_markdown(plans: Sequence[SpecPlan], notes: Sequence[str] = ()) -> str:
    """``notes``: lines shown beside the estimate (`plan --check-remote`'s quota)."""
    lines = ["## reelform plan", ""]
    unchanged = sum(p.unchanged for p in plans)
    if not any(p.changes for p in plans):
        lines += [f"No changes: {_videos(unchanged)} up to date.", ""]
        lines += [line for note in notes for line in (note, "")]
        return "\n".join(lines)
    lines += ["| action | count |", "|---|---:|"]
    for action in ORDER:
        count = sum(p.count(action) for p in plans)
        if count:
            lines.append(f"| {action.value} | {count:,} |")
    lines += ["", f"**{estimate_line(plans)}**", ""]
    lines += [line for note in notes for line in (note, "")]
    approvals = approval_line(plans)
    if approvals:
        lines += [approvals, ""]
    for plan in plans:
        if plan.changes:
            lines += _section(plan)
    quiet = [p for p in plans if not p.changes]
    if quiet:
        names = ", ".join(f"`{p.spec}` ({_videos(p.unchanged)})" for p in quiet)
        lines += [f"No changes in {names}.", ""]
    return "\n".join(lines)


def _section(plan: SpecPlan) -> list[str]:
    changes = [
        f"{plan.count(a):,} {WORDS[a]}"
        for a in ORDER
        if a is not Action.UNCHANGED and plan.count(a)
    ]
    counts = [*changes, f"{plan.unchanged:,} unchanged"] if plan.unchanged else changes
    estimate = plan.estimate
    cost = [f"~{duration_text(estimate.seconds)} of video"] if estimate.videos else []
    if estimate.credits:
        cost.append(f"{estimate.credits:,} JoggAI credits")
    lines = [f"### `{plan.spec}`", "", " · ".join([", ".join(counts), *cost]), ""]
    rank = {action: i for i, action in enumerate(ORDER)}
    items = sorted(plan.items, key=lambda i: (i.kind != "avatar", rank[i.action], i.name))
    rows = ["| action | video | provider | details |", "|---|---|---|---|"]
    rows += [_row(item) for item in items]
    if len(items) > FOLD_AFTER:
        summary = f"{len(items):,} changes: {', '.join(changes)}"
        lines += [f"<details><summary>{summary}</summary>", "", *rows, "", "</details>"]
    else:
        lines += rows
    lines.append("")
    return lines


def _row(item: PlanItem) -> str:
    symbol = SYMBOLS[item.action][0]
    details = []
    if item.changed:
        details.append("changed: " + ", ".join(f"`{c}`" for c in item.changed))
    if item.reason:
        details.append(item.reason)
    if item.renders and item.seconds:
        details.append(f"~{duration_text(item.seconds)}")
    if item.kind == "avatar" and item.credits:
        details.append(f"{item.credits} credits")
    if item.approval is not None:
        details.append(f"**{approval_text(item.approval)}**")
    kind = "photo avatar " if item.kind == "avatar" else ""
    name = f"`{item.source}` -> `{item.name}`" if item.source is not None else f"`{item.name}`"
    return (
        f"| `{symbol}` {item.action.value} | {kind}{_cell(name)} | {item.provider} | "
        f"{_cell('; '.join(details))} |"
    )


def _videos(count: int) -> str:
    return f"{count:,} video{'s' if count != 1 else ''}"


def _cell(text: str) -> str:
    """Table-safe: a `|` would end the cell, a newline the row."""
    return text.replace("|", "\\|").replace("\n", " ")
