"""Showing plans: for people (colored on a terminal, plain otherwise) and as JSON.

Output is deterministic: items are sorted, numbers are formatted the same way
on every machine, and nothing depends on the time of day.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from reelform.plan.diff import Action, Approval, Estimate, PlanItem, SpecPlan

PLAN_FORMAT_VERSION = 1
SYMBOLS = {
    Action.CREATE: ("+", "green"),
    Action.REPLACE: ("~", "yellow"),
    Action.RESUME: (">", "cyan"),
    Action.RETRY: ("!", "magenta"),
    Action.UNKNOWN: ("?", "red"),
    Action.DOWNLOAD: ("v", "blue"),
    Action.MOVE: (">", "blue"),
    Action.COPY: ("=", "green"),  # "the same as": a render made once, copied here
    Action.ORPHAN: ("-", "red"),
}
ORDER = [
    Action.CREATE,
    Action.REPLACE,
    Action.RESUME,
    Action.RETRY,
    Action.UNKNOWN,
    Action.DOWNLOAD,
    Action.MOVE,
    Action.COPY,
    Action.ORPHAN,
    Action.UNCHANGED,
]


def total_estimate(plans: Sequence[SpecPlan]) -> Estimate:
    total = Estimate()
    for plan in plans:
        total = total + plan.estimate
    return total


def duration_text(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def summary_line(plans: Sequence[SpecPlan]) -> str:
    counts = {action: sum(p.count(action) for p in plans) for action in ORDER}
    words = {
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
    resubmits = sum(1 for p in plans for i in p.items if i.resubmit)
    if resubmits:
        words[Action.UNKNOWN] = f"unknown ({resubmits:,} to resubmit: may pay twice)"
    relabeled = sum(len(p.labels_changed) for p in plans)
    if relabeled:
        words[Action.UNCHANGED] = f"unchanged ({relabeled:,} with a new label: no render)"
    parts = [f"{counts[a]:,} {words[a]}" for a in ORDER if counts[a] or a is Action.UNCHANGED]
    return "Plan: " + ", ".join(parts) + "."


def estimate_line(plans: Sequence[SpecPlan]) -> str:
    estimate = total_estimate(plans)
    credits = (
        f", {estimate.credits:,} JoggAI credit{'' if estimate.credits == 1 else 's'}"
        if estimate.credits
        else ""
    )
    videos = "video" if estimate.videos == 1 else "videos"
    return (
        f"Estimate: {estimate.videos:,} {videos} to render, "
        f"~{duration_text(estimate.seconds)} of video{credits}."
    )


def use_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return stream.isatty()


def render_text(plans: Sequence[SpecPlan], color: bool) -> str:
    """The human plan: one line per change, counts for the unchanged."""
    lines: list[str] = []
    width = max((len(shown_name(i)) for p in plans for i in p.items), default=10)
    width = min(max(width, 10), 48)

    def paint(text: str, style: str) -> str:
        if not color:
            return text
        codes = {
            "green": 32,
            "yellow": 33,
            "blue": 34,
            "magenta": 35,
            "cyan": 36,
            "red": 31,
            "bold": 1,
            "dim": 2,
        }
        return f"\x1b[{codes[style]}m{text}\x1b[0m"

    for plan in plans:
        lines.append(paint(f"{plan.spec}", "bold") + paint(f"  (lock: {plan.lock})", "dim"))
        for item in plan.items:
            symbol, style = SYMBOLS[item.action]
            label = f"{symbol} {item.action.value:<9}"
            reason = item.reason
            if item.resubmit:  # say it where the person reads, before confirming
                reason = "RESUBMIT (--resubmit-unknown): may pay twice"
            detail = _detail(item.changed, reason, item.seconds, item.renders)
            if item.approval is not None:
                detail = "; ".join(filter(None, [detail, approval_text(item.approval)]))
            lines.append(
                f"  {paint(label, style)} {shown_name(item):<{width}}  "
                f"{item.provider:<6}  {detail}".rstrip()
            )
        for item in plan.labels_changed:  # counted as unchanged: recorded, not rendered
            label = f"= {'label':<9}"
            lines.append(
                f"  {paint(label, 'dim')} {item.name:<{width}}  {item.provider:<6}  "
                f"changed: {', '.join(item.changed)}; no render, no cost"
            )
        if plan.unchanged:
            lines.append(paint(f"  = {plan.unchanged:,} unchanged", "dim"))
        for note in plan.superseded:
            lines.append(paint(f"  ! {note}", "yellow"))
        if plan.held_back:
            from reelform.plan.approval import held_back_names

            count = sum(1 for i in plan.held_back if i.kind == "video")
            lines.append(
                paint(f"  | {count:,} held back (not approved): {held_back_names(plan)}", "dim")
            )
        if not plan.items and not plan.unchanged and not plan.held_back:
            lines.append(paint("  (no videos)", "dim"))
    lines.append("")
    held = approvals_summary = None
    if any(p.approvals is not None or p.held_back for p in plans):
        from reelform.plan.approval import approval_line, held_back_line

        held, approvals_summary = held_back_line(plans), approval_line(plans)
    if not any(p.changes for p in plans):
        lines.append(
            f"Nothing to apply: {held}" if held else "No changes. The videos are up to date."
        )
    else:
        lines.append(summary_line(plans))
        lines.append(estimate_line(plans))
        if approvals_summary:
            lines.append(approvals_summary)
        if held:
            lines.append(f"{held[0].upper()}{held[1:]}")
    return "\n".join(lines) + "\n"


def approval_text(approval: Approval) -> str:
    """The marker of a render's approval in the text and markdown plans."""
    if approval is Approval.VOID:
        return "approval void (changed since)"
    return str(approval)


def shown_name(item: PlanItem) -> str:
    """An item's name as the plan shows it: ``old -> new`` for a move."""
    if item.source is not None:
        return f"{item.source} -> {item.name}"
    return f"avatar {item.name}" if item.kind == "avatar" else item.name


def _detail(changed: tuple[str, ...], reason: str | None, seconds: float, renders: bool) -> str:
    parts = []
    if changed:
        parts.append("changed: " + ", ".join(changed))
    if reason:
        parts.append(reason)
    if renders and seconds:
        parts.append(f"~{duration_text(seconds)}")
    return "; ".join(parts)


def plan_json(plans: Sequence[SpecPlan]) -> dict[str, Any]:
    estimate = total_estimate(plans)
    return {
        "format": "reelform-plan",
        "version": PLAN_FORMAT_VERSION,
        "changes": any(p.changes for p in plans),
        "summary": {a.value: sum(p.count(a) for p in plans) for a in ORDER},
        "estimate": {
            "videos": estimate.videos,
            "seconds": round(estimate.seconds, 1),
            "jogg_credits": estimate.credits,
        },
        "specs": [
            {
                "spec": p.spec,
                "lock": p.lock,
                "lock_digest": p.lock_digest,
                "summary": {a.value: p.count(a) for a in ORDER},
                "items": [i.to_json() for i in p.items],
                **({"superseded": list(p.superseded)} if p.superseded else {}),
                **({"approvals": p.approvals} if p.approvals is not None else {}),
                **({"held_back": [i.to_json() for i in p.held_back]} if p.held_back else {}),
                # Counted in `unchanged`: a new label, recorded by apply without a render.
                **({"labels": [i.to_json() for i in p.labels_changed]} if p.labels_changed else {}),
            }
            for p in plans
        ],
        **_approvals_json(plans),
    }


def _approvals_json(plans: Sequence[SpecPlan]) -> dict[str, Any]:
    """Counts of the renders' approvals, when some spec has approvals (or holds back)."""
    statuses = [i.approval for p in plans for i in p.items if i.approval is not None]
    held = [i for p in plans for i in p.held_back if i.kind == "video"]
    if not statuses and not held and all(p.approvals is None for p in plans):
        return {}
    return {
        "approvals": {
            "renders": len(statuses),
            "approved": statuses.count(Approval.APPROVED),
            "void": statuses.count(Approval.VOID),
            "held_back": len(held),
        }
    }


def write_text(plans: Sequence[SpecPlan], stream: TextIO | None = None) -> None:
    stream = stream or sys.stdout
    stream.write(render_text(plans, use_color(stream)))
