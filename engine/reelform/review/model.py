"""The gallery's model: a spec's plan, its lockfile and what is on disk -> cards.

Pure: no I/O. The caller (``build.py``) has read the lockfiles and observed the
files (``MediaFacts``); this module only decides what each card says. One card per
video the spec asks for, in the spec's order; videos no longer in the spec (orphans)
have no card, since nobody is asked to look at them.

A card's status is the plan's view of the video, in a reviewer's words:

    completed   done, and its output is what the lockfile recorded
    failed      the provider said so (its reason is shown); apply would retry
    unknown     the submit's outcome cannot be known; apply leaves it alone
    running     a job id is on record; apply polls it
    pending     the submit's intent is on record, its job id not yet
    create      apply would render it (not made before)
    replace     apply would render it again (the changed fields are named)
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from reelform.plan.diff import Action, PlanItem, SpecPlan, credits_for
from reelform.plan.fingerprint import Request
from reelform.registry import provider_traits
from reelform.speclang.expand import DesiredVideo, LoadedSpec
from reelform.state.approvals import Approvals
from reelform.state.lockfile import LockState
from reelform.state.records import Status, VideoRecord


class CardStatus(enum.StrEnum):
    COMPLETED = "completed"
    FAILED = "failed"
    UNKNOWN = "unknown"
    RUNNING = "running"
    PENDING = "pending"
    CREATE = "create"
    REPLACE = "replace"

    @property
    def label(self) -> str:
        return LABELS[self]


LABELS = {
    CardStatus.COMPLETED: "completed",
    CardStatus.FAILED: "failed",
    CardStatus.UNKNOWN: "unknown",
    CardStatus.RUNNING: "running",
    CardStatus.PENDING: "pending",
    CardStatus.CREATE: "will be created",
    CardStatus.REPLACE: "will be replaced",
}


class MediaState(enum.StrEnum):
    OK = "ok"
    MISSING = "missing"  # the lockfile names a file that is not there
    CHANGED = "changed"  # there, but not the bytes the lockfile recorded
    UNREADABLE = "unreadable"  # there, but no frame could be read from it (corrupt)
    OUTSIDE = "outside"  # the recorded path leads out of the output folder: never served


@dataclass(frozen=True)
class MediaFacts:
    """What the I/O edge saw of one file the lockfile names."""

    state: MediaState
    sha256: str | None = None  # of the bytes on disk, when read (for the poster cache)
    error: str | None = None  # why no poster could be made, for the card


@dataclass(frozen=True)
class Media:
    """A video file a card shows: the output, or the preview."""

    path: Path  # absolute
    key: str  # how the page addresses it (``server.py`` serves only known keys)
    state: MediaState
    sha256: str | None = None
    error: str | None = None
    stale: bool = False  # a preview of an earlier version of the video

    @property
    def playable(self) -> bool:
        return self.state in (MediaState.OK, MediaState.CHANGED)

    @property
    def problem(self) -> str | None:
        """What the card says about a file that cannot be shown as it should."""
        if self.state is MediaState.MISSING:
            return "output file missing"
        if self.state is MediaState.OUTSIDE:
            return "the lockfile's path leads outside the output folder; not shown"
        if self.state is MediaState.UNREADABLE:
            return f"output unreadable: {self.error or 'no video frame'}"
        if self.state is MediaState.CHANGED:
            return "output changed since it was recorded (apply downloads it again)"
        return None


@dataclass(frozen=True)
class Card:
    id: str  # stable across rebuilds: the DOM id, the approvals' handle
    spec: str  # the spec file, as given
    name: str
    provider: str
    status: CardStatus
    identity: str  # the render identity (``Request.fingerprint``) that approvals record
    reason: str | None = None
    changed: tuple[str, ...] = ()
    voice: str = ""  # "script" | "audio"
    script: str | None = None
    audio: str | None = None
    aspect: str = "portrait"
    captions: bool = False
    title: str | None = None
    origin: str | None = None  # the data row (or matrix combination) it came from
    seconds: float = 0.0
    credits: int = 0
    free: bool = False  # the provider costs nothing (local)
    output: Media | None = None
    preview: Media | None = None
    approved: bool = False
    void: bool = False  # approved once, as another render: the video changed since

    @property
    def renders(self) -> bool:
        return self.status in (CardStatus.CREATE, CardStatus.REPLACE, CardStatus.FAILED)

    @property
    def search_text(self) -> str:
        """What the page's search box matches against (lower case)."""
        parts = [self.name, self.provider, self.status.label, self.spec]
        parts += [p for p in (self.title, self.script, self.audio, self.origin, self.reason) if p]
        return " ".join(parts).lower()


def card_id(spec: str, name: str) -> str:
    return "c" + hashlib.sha256(f"{spec}\0{name}".encode()).hexdigest()[:16]


def media_key(kind: str, spec: str, name: str) -> str:
    """``output/<spec id>/<name>.mp4``: names match NAME_PATTERN, so they are URL-safe."""
    return f"{kind}/{card_id(spec, '')[1:9]}/{name}.mp4"


@dataclass(frozen=True)
class SpecFacts:
    """What the I/O edge read for one spec, besides its plan."""

    outputs: Mapping[str, MediaFacts]  # by video name, for records with an output path
    preview_lock: LockState | None = None  # the preview lockfile, when there are previews
    previews: Mapping[str, MediaFacts] | None = None  # by video name
    preview_identities: Mapping[str, str] | None = None  # the preview's fingerprint now
    approvals: Approvals | None = None


def cards_for(spec: LoadedSpec, plan: SpecPlan, lock: LockState, facts: SpecFacts) -> list[Card]:
    """One card per video of ``spec``, in the spec's order."""
    items = {i.name: i for i in plan.items if i.kind == "video"}
    label = plan.spec
    cards = []
    for video in spec.videos:
        request = plan.requests.get(video.name)
        if request is None:  # not selected (the gallery selects everything)
            continue
        cards.append(_card(label, spec, video, request, items.get(video.name), lock.videos, facts))
    return cards


def _card(
    label: str,
    spec: LoadedSpec,
    video: DesiredVideo,
    request: Request,
    item: PlanItem | None,
    records: Mapping[str, VideoRecord],
    facts: SpecFacts,
) -> Card:
    recorded_as = video.name
    if item is not None and item.action is Action.MOVE and item.source is not None:
        recorded_as = item.source  # a rename: the entry and file that become this video's
    record = records.get(recorded_as)
    status, reason = _status(item, record)
    v = video.video
    credits = item.credits if item is not None and item.renders else 0
    if status is CardStatus.COMPLETED or credits == 0:
        credits = credits_for(request.provider, request.seconds)
    return Card(
        id=card_id(label, video.name),
        spec=label,
        name=video.name,
        provider=request.provider,
        status=status,
        identity=request.fingerprint,
        reason=reason,
        changed=item.changed if item is not None else (),
        voice=v.voice.kind,
        script=v.voice.script,
        audio=v.voice.audio,
        aspect=v.aspect or "portrait",
        captions=bool(v.captions),
        title=v.title,
        origin=video.origin,
        seconds=request.seconds,
        credits=credits,
        free=provider_traits(request.provider).credits is None,
        output=_output(label, spec, video.name, record, facts, recorded_as),
        preview=_preview(label, spec, video.name, status, facts),
        approved=facts.approvals is not None
        and facts.approvals.approved(video.name, request.fingerprint),
        void=facts.approvals is not None and facts.approvals.void(video.name, request.fingerprint),
    )


def _status(item: PlanItem | None, record: VideoRecord | None) -> tuple[CardStatus, str | None]:
    if item is None or item.action is Action.DOWNLOAD:
        return CardStatus.COMPLETED, None
    action = item.action
    if action is Action.CREATE:
        return CardStatus.CREATE, None
    if action is Action.REPLACE:
        return CardStatus.REPLACE, None
    if action is Action.RETRY:
        return CardStatus.FAILED, (record.error if record is not None else None) or item.reason
    if action is Action.UNKNOWN:
        return CardStatus.UNKNOWN, item.reason
    if action is Action.MOVE:  # a rename: the picture is done, under its old name
        return CardStatus.COMPLETED, f"renamed from {item.source}: no render, no cost"
    if action is Action.COPY and item.copy_of is not None:
        spec, name = item.copy_of
        return CardStatus.COMPLETED, f"a copy of {spec}:{name}: no render, no cost"
    if action is Action.RESUME:
        if record is not None and record.status is Status.SUBMITTED:
            return CardStatus.RUNNING, item.reason
        return CardStatus.PENDING, item.reason
    return CardStatus.COMPLETED, item.reason


def _output(
    label: str,
    spec: LoadedSpec,
    name: str,
    record: VideoRecord | None,
    facts: SpecFacts,
    recorded_as: str,
) -> Media | None:
    if record is None or record.output is None or not record.output.path:
        return None
    seen = facts.outputs.get(recorded_as, MediaFacts(MediaState.MISSING))
    return Media(
        spec.directory / record.output.path,
        media_key("output", label, name),
        seen.state,
        seen.sha256,
        seen.error,
    )


def _preview(
    label: str, spec: LoadedSpec, name: str, status: CardStatus, facts: SpecFacts
) -> Media | None:
    """The preview beside a card that apply would render; none for the others."""
    if facts.preview_lock is None or facts.previews is None:
        return None
    if status not in (CardStatus.CREATE, CardStatus.REPLACE, CardStatus.FAILED):
        return None
    record = facts.preview_lock.videos.get(name)
    if record is None or record.output is None or not record.output.path:
        return None
    if record.status is not Status.COMPLETED:
        return None
    seen = facts.previews.get(name, MediaFacts(MediaState.MISSING))
    identity = (facts.preview_identities or {}).get(name)
    return Media(
        spec.directory / record.output.path,
        media_key("preview", label, name),
        seen.state,
        seen.sha256,
        seen.error,
        stale=identity is not None and record.fingerprint != identity,
    )


@dataclass(frozen=True)
class Counts:
    by_status: Mapping[CardStatus, int]
    credits: int  # what apply would spend on the cards it renders
    approved: int

    @classmethod
    def of(cls, cards: Sequence[Card]) -> Counts:
        by_status = {s: 0 for s in CardStatus}
        for card in cards:
            by_status[card.status] += 1
        return cls(
            by_status,
            sum(c.credits for c in cards if c.renders),
            sum(1 for c in cards if c.approved),
        )
