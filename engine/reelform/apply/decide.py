"""Apply's decisions, as pure functions of a lock entry and the plan: no I/O here.

The executor carries these out; every never-pay-twice rule that depends on what the
lockfile says lives in this module (docs/design.md, "Never pay twice"):

1. A job id on record is polled, never submitted again.
2. A submit interrupted between its intent and its job id is looked up where the
   provider can be asked; elsewhere it is ``unknown``, and only a person's
   ``--resubmit-unknown`` (or a free provider) sends it again.
3. Only the provider saying a job failed makes it ``failed``; an error while polling
   changes nothing on record.
4. Once an account answers "insufficient credit", nothing more is sent on it this
   run; the video is left to create, not failed (``may_submit``). Apply does not
   start a plan whose estimate exceeds the remaining quota unless told to
   (``quota_check``).

How a paid submit's *answer* is judged is ``providers.submits``; when to try again
after a "not taken" is ``providers.http.retry_delay``.
"""

from __future__ import annotations

import enum
from collections.abc import Collection
from urllib.parse import urlsplit, urlunsplit

from reelform.plan.diff import Action
from reelform.state.records import AvatarRecord, Status, VideoRecord


class VideoStep(enum.StrEnum):
    DOWNLOAD = "download"  # completed at the provider: fetch the file again
    POLL = "poll"  # a job is at the provider: wait for it
    FIND = "find"  # interrupted submit, and the provider can be asked which job it made
    UNKNOWN = "unknown"  # interrupted submit nobody can resolve: a person decides
    SUBMIT = "submit"  # make the job


def video_step(
    action: Action, entry: VideoRecord, fingerprint: str, *, resubmit: bool, finds_jobs: bool
) -> VideoStep:
    """What a video of the plan needs first, from its lock entry (``VideoRecord()``:
    none).

    ``resubmit``: a person's `--resubmit-unknown`, or a free provider (nothing can be
    paid twice there)."""
    if action is Action.DOWNLOAD:
        return VideoStep.DOWNLOAD
    same = entry.fingerprint == fingerprint
    status = entry.status
    if same and status is Status.SUBMITTED:  # rule 1, whatever the plan was made from
        if entry.job_id:
            return VideoStep.POLL
        return VideoStep.SUBMIT if resubmit else VideoStep.UNKNOWN  # a torn record
    interrupted = status is Status.SUBMITTING or status is Status.UNKNOWN
    if action in (Action.RESUME, Action.UNKNOWN) and same and interrupted:
        if status is Status.SUBMITTING and finds_jobs:
            return VideoStep.FIND
        return VideoStep.SUBMIT if resubmit else VideoStep.UNKNOWN
    return VideoStep.SUBMIT


def after_lost_answer(found: str | None, *, resubmit: bool) -> VideoStep:
    """After a submit whose answer was lost (or a crash), and a look-up if any."""
    if found is not None:
        return VideoStep.POLL
    return VideoStep.SUBMIT if resubmit else VideoStep.UNKNOWN


class AvatarStep(enum.StrEnum):
    READY = "ready"  # made: use its avatar id
    WAIT = "wait"  # a motion is in flight: wait for it
    REFUSE = "refuse"  # an earlier request's outcome is unknown: a person decides (rule 2)
    CREATE = "create"  # upload the image and make it


def avatar_step(entry: AvatarRecord, fingerprint: str, *, resubmit: bool) -> AvatarStep:
    """What a photo avatar needs next, from its lock entry (``AvatarRecord()``: none)."""
    if entry.fingerprint != fingerprint:
        return AvatarStep.CREATE
    status = entry.status
    if status is Status.COMPLETED and entry.avatar_id is not None:
        return AvatarStep.READY
    if entry.motion_id and status is not Status.FAILED:
        return AvatarStep.WAIT
    if (status is Status.SUBMITTING or status is Status.UNKNOWN) and not resubmit:
        # No motion id was kept, so whether the provider made (and charged for) it
        # cannot be known.
        return AvatarStep.REFUSE
    return AvatarStep.CREATE


def summary_status(status: Status | None) -> str:
    """The summary's word for a video whose work stopped early, from its lock status:
    a job at the provider is still ``running``; an interrupted submit is ``unknown``."""
    if status is Status.SUBMITTED:
        return "running"
    if status is Status.SUBMITTING or status is Status.UNKNOWN:
        return "unknown"
    return "failed"


def keep_polling(errors_in_a_row: int, tolerance: int) -> bool:
    """Whether to go on polling a job after this many status reads failed in a row.

    A failing read proves nothing about the job (a job not found just after its
    create, a key rotated during a long batch, a WAF's page): it stays ``submitted``
    whatever happens, and past the tolerance this apply only stops waiting for it."""
    return errors_in_a_row < tolerance


def recordable_url(url: str) -> tuple[str, bool]:
    """The result URL as the lockfile may keep it, and whether anything was dropped.

    A signed URL's query string is a credential (and expires anyway), so it is never
    committed; the job id on record is what asks the provider for a fresh URL."""
    parts = urlsplit(url)
    if not parts.query:
        return url, False
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), True


# --- credits (docs/design.md, "Credits") ------------------------------------------------


def credit_account(provider: str) -> str:
    """Which account a provider's "insufficient credit" exhausts: all that one run
    sends with the same API key. The key is the provider's (one variable per provider,
    from the environment), so every spec, every slot, JoggAI's v1 and v2 and its photo
    avatars, and Mirako's speech and its videos share one account per provider."""
    return provider


def may_submit(provider: str, exhausted: Collection[str]) -> bool:
    """Whether a paid request may be sent now: not once its account ran out of
    credit during this run. Jobs already submitted are still polled and downloaded."""
    return credit_account(provider) not in exhausted


class QuotaCheck(enum.StrEnum):
    NOT_NEEDED = "not_needed"  # the plan spends nothing there
    UNREAD = "unread"  # the provider has no quota endpoint, or it could not be read
    ENOUGH = "enough"
    SHORT = "short"  # apply refuses to start
    OVERRIDDEN = "overridden"  # short, and `--ignore-quota` starts anyway (said so)


def quota_check(needed: float, remaining: float | None, *, ignore: bool) -> QuotaCheck:
    """Apply's check before starting, of the estimate against the remaining quota.

    An unread quota never stops apply (nor `plan`): the in-run stop on "insufficient
    credit" still keeps it from failing videos for want of credit."""
    if needed <= 0:
        return QuotaCheck.NOT_NEEDED
    if remaining is None:
        return QuotaCheck.UNREAD
    if needed <= remaining:
        return QuotaCheck.ENOUGH
    return QuotaCheck.OVERRIDDEN if ignore else QuotaCheck.SHORT
