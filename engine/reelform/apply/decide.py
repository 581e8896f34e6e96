"""Apply's decisions, as pure functions of a lock entry and the plan: no I/O here.

The executor carries these out; every never-pay-twice rule that depends on what the
lockfile says lives in this module (docs/design.md, "Never pay twice"):

1. A job id on record is polled, never submitted again.
2. A submit interrupted between its intent and its job id is looked up where the
   provider can be asked; elsewhere it is ``unknown``, and only a person's
   ``--resubmit-unknown`` (or a free provider) sends it again.
3. Only the provider saying a job failed makes it ``failed``; an error while polling
   changes nothing on record.

How a paid submit's *answer* is judged is ``providers.submits``; when to try again
after a "not taken" is ``providers.http.retry_delay``.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from reelform.plan.diff import Action


class VideoStep(enum.StrEnum):
    DOWNLOAD = "download"  # completed at the provider: fetch the file again
    POLL = "poll"  # a job is at the provider: wait for it
    FIND = "find"  # interrupted submit, and the provider can be asked which job it made
    UNKNOWN = "unknown"  # interrupted submit nobody can resolve: a person decides
    SUBMIT = "submit"  # make the job


def video_step(
    action: Action, entry: Mapping[str, Any], fingerprint: str, *, resubmit: bool, finds_jobs: bool
) -> VideoStep:
    """What a video of the plan needs first, from its lock entry.

    ``resubmit``: a person's `--resubmit-unknown`, or a free provider (nothing can be
    paid twice there)."""
    if action is Action.DOWNLOAD:
        return VideoStep.DOWNLOAD
    same = entry.get("fingerprint") == fingerprint
    status = entry.get("status")
    if same and status == "submitted":  # rule 1, whatever the plan was made from
        if entry.get("job_id"):
            return VideoStep.POLL
        return VideoStep.SUBMIT if resubmit else VideoStep.UNKNOWN  # a torn record
    if action in (Action.RESUME, Action.UNKNOWN) and same and status in ("submitting", "unknown"):
        if status == "submitting" and finds_jobs:
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


def avatar_step(entry: Mapping[str, Any], fingerprint: str, *, resubmit: bool) -> AvatarStep:
    """What a photo avatar needs next, from its lock entry."""
    if entry.get("fingerprint") != fingerprint:
        return AvatarStep.CREATE
    status = entry.get("status")
    if status == "completed" and entry.get("avatar_id") is not None:
        return AvatarStep.READY
    if entry.get("motion_id") and status != "failed":
        return AvatarStep.WAIT
    if status in ("submitting", "unknown") and not resubmit:
        # No motion id was kept, so whether the provider made (and charged for) it
        # cannot be known.
        return AvatarStep.REFUSE
    return AvatarStep.CREATE


def summary_status(status: object) -> str:
    """The summary's word for a video whose work stopped early, from its lock status:
    a job at the provider is still ``running``; an interrupted submit is ``unknown``."""
    return {"submitted": "running", "submitting": "unknown", "unknown": "unknown"}.get(
        str(status), "failed"
    )


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
