"""`plan --format markdown`: a plan summary for a pull-request comment.

Counts and the estimate first, then a table of the changes with the changed
fields; long lists are folded into <details> so the comment stays readable.
"""

from __future__ import annotations

from collections.abc import Sequence

from reelform.plan.diff import SpecPlan
from reelform.plan.show import ORDER, SYMBOLS, duration_text, estimate_line, total_estimate

FOLD_AFTER = 20


def render_markdown(plans: Sequence[SpecPlan]) -> str:
    lines = ["## reelform plan", ""]
    if not any(p.changes for p in plans):
        unchanged = sum(p.unchanged for p in plans)
        lines += [f"No changes: {unchanged:,} videos up to date.", ""]
        return "\n".join(lines)
    lines += ["| action | count |", "|---|---:|"]
    for action in ORDER:
        count = sum(p.count(action) for p in plans)
        if count:
            lines.append(f"| {action.value} | {count:,} |")
    lines += ["", f"**{estimate_line(plans)}**", ""]
    for plan in plans:
        if not plan.items:
            continue
        estimate = total_estimate([plan])
        lines.append(f"### `{plan.spec}`")
        lines.append("")
        rows = ["| | video | provider | details |", "|---|---|---|---|"]
        for item in plan.items:
            symbol = SYMBOLS[item.action][0]
            details = []
            if item.changed:
                details.append("changed: " + ", ".join(f"`{c}`" for c in item.changed))
            if item.reason:
                details.append(item.reason)
            if item.action.renders and item.seconds:
                details.append(f"~{duration_text(item.seconds)}")
            kind = "avatar " if item.kind == "avatar" else ""
            rows.append(f"| `{symbol}` {item.action.value} | {kind}`{_cell(item.name)}` | "
                        f"{item.provider} | {_cell('; '.join(details))} |")
        if len(plan.items) > FOLD_AFTER:
            lines += [f"<details><summary>{len(plan.items):,} changes "
                      f"({estimate.videos:,} renders)</summary>", "", *rows, "", "</details>"]
        else:
            lines += rows
        if plan.unchanged:
            lines += ["", f"{plan.unchanged:,} unchanged."]
        lines.append("")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
