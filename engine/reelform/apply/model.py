"""The records of an apply run: its options, each video's outcome, and why work stops.

Frozen records shared by the session (``apply/session.py``), the executor and the
summary; no behaviour of their own beyond a property or two.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from reelform.apply.polling import PollPolicy
from reelform.apply.share import WorkShare
from reelform.errors import ProviderError, RetryableError
from reelform.plan.diff import SpecPlan
from reelform.project import Prepared
from reelform.providers.base import Provider
from reelform.providers.http import RetryPolicy, Tries
from reelform.speclang.model import Video
from reelform.state.journal import GroupCommit, StateJournal


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class Outcome:
    spec: str
    name: str
    #: completed | moved | failed | running | pending | unknown | pruned | skipped, or
    #: elsewhere: completed by another runner sharing the spec (its file is there).
    status: str
    reason: str | None = None
    kind: str = "video"
    #: The traceback of an unexpected exception (a bug): the run exits 3 after the
    #: journal is safe.
    bug: str | None = None
    #: The provider whose account ran out of credit, when that is why this video
    #: was not submitted (the summary says so, and how many were left).
    no_credit: str | None = None

    @property
    def ok(self) -> bool:
        return self.status in ("completed", "elsewhere", "moved", "pruned", "skipped")


@dataclass
class SpecRun:
    """One spec being applied: its plan and its journal."""

    prepared: Prepared
    plan: SpecPlan
    journal: StateJournal
    videos: dict[str, Video] = field(init=False, repr=False)
    commit: GroupCommit = field(init=False, repr=False)
    #: Where runners share the spec (state in PostgreSQL): who does which video.
    share: WorkShare | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.videos = {v.name: v.video for v in self.prepared.spec.videos}
        self.commit = GroupCommit(self.journal)

    @property
    def label(self) -> str:
        return str(self.prepared.spec.path)


@dataclass(frozen=True)
class ApplyOptions:
    """How to apply: one frozen record for the CLI, the Python API and previews
    (``dataclasses.replace`` makes a changed copy, e.g. the run's time scale)."""

    parallel: int = 8
    resubmit_unknown: bool = False
    prune: bool = False
    poll: PollPolicy = field(default_factory=PollPolicy)
    #: `--timeout`: provider seconds after which nothing new is submitted and nothing
    #: more is waited for (renders in flight are resumed by the next apply).
    timeout: float | None = None
    #: How often a paid submit that the provider did not take is sent again.
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    #: `--max-credits`: refuse a plan whose JoggAI estimate is larger.
    max_credits: int | None = None
    #: `--ignore-quota`: start even when the estimate exceeds a provider's remaining
    #: quota (said so); the in-run stop on "insufficient credit" still holds.
    ignore_quota: bool = False
    #: `--webhook-url` and `--listen`; the session starts a receiver for them.
    webhook_url: str | None = None
    listen: str | None = None
    webhooks: Any = None  # the WebhookReceiver of a run with webhooks
    #: `--approved`: submit only the renders a reviewer approved (plan/approval.py).
    approved: bool = False


class OutOfTime(Exception):
    """The run's --timeout has passed: stop before the next submit or wait.

    ``rendering``: raised while waiting for a job this video has at the provider (it
    is resumed next time), rather than before its submit (it was never sent)."""

    def __init__(self, rendering: bool = False) -> None:
        super().__init__()
        self.rendering = rendering


class StoppedWaiting(Exception):
    """Status reads kept failing: the job stays on record, the next apply polls it."""

    def __init__(self, errors: int, last: ProviderError) -> None:
        super().__init__(
            f"status reads failed {errors} times in a row (last: {last}); the job stays "
            "submitted and the next apply polls it again"
        )


class NotTaken(Exception):
    """A paid submit the provider kept refusing to take ("not now"): never sent."""

    def __init__(self, tries: Tries, last: RetryableError) -> None:
        super().__init__(
            f"not submitted: {last} (tried {tries.total} times); the next apply tries again"
        )


class NoCredit(Exception):
    """A paid request not sent, or refused, because its account ran out of credit.

    Nothing was made or charged and the intent is withdrawn: the video is left to
    create (the next plan shows it as before), never ``failed``. ``provider`` is the
    account's provider; ``first`` is whether this request got the refusal itself
    (rather than being held back after another one did)."""

    def __init__(self, provider: str, label: str, answer: str, *, first: bool) -> None:
        self.provider = provider
        self.first = first
        where = "answered" if first else "had answered"
        super().__init__(
            f"not submitted: {label} {where} insufficient credit ({answer}); top up, "
            "then apply again: it is left to create"
        )


class HeldElsewhere(Exception):
    """Another runner applying the same spec has this video (state in PostgreSQL):
    this one follows it instead of working on it (``apply/following.py``). With
    ``avatar``, what the other runner has is the photo avatar the video needs."""

    def __init__(self, reason: str, avatar: str | None = None) -> None:
        super().__init__(reason)
        self.avatar = avatar


class Unrecorded(Exception):
    """A job id the provider returned that the journal could not keep: say it aloud."""

    def __init__(self, job_id: str, error: OSError) -> None:
        super().__init__(
            f"job {job_id} was accepted but could not be recorded "
            f"({error.strerror or error}); note this id: resume it by hand"
        )


ProviderFor = Callable[[SpecRun, str], Provider]
