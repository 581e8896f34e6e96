"""The gallery's model (pure): what each card says, from a real plan of a real spec
and a lockfile written by hand to hold every status a video can be in."""

from __future__ import annotations

import io
import wave
from pathlib import Path

from reviewkit import write

from reelform.plan.diff import SpecPlan
from reelform.project import Prepared, plan_prepared, prepare
from reelform.review.model import (
    Card,
    CardStatus,
    MediaFacts,
    MediaState,
    SpecFacts,
    cards_for,
    media_key,
)
from reelform.state.approvals import Approvals
from reelform.state.lockfile import LockState
from reelform.state.records import Status, VideoOutput, VideoRecord

SPEC = """\
version: 1
name: shop
provider: jogg
data:
  people: people.csv
assets:
  intro: intro.wav
defaults:
  avatar: {id: 7}
  voice: {voice_id: en-US-ChristopherNeural}
videos:
  - name: "v-{{ row.id }}"
    for_each: people
    aspect: "{{ row.aspect }}"
    captions: true
    voice:
      script: "Hello {{ row.name }}"
  - name: spoken
    voice: {audio: intro}
  - name: local-pending
    provider: local
    avatar: {id: 1}
    voice: {script: "Hi", voice_id: en}
"""
PEOPLE = (
    "id,name,aspect\ndone,Ann,portrait\nfailed,Bob,landscape\nrunning,Cy,square\n"
    "pending,Di,portrait\nunknown,Ed,portrait\nnew,Flo,portrait\nchanged,Gus,portrait\n"
    "gone,Hal,portrait\n"
)


def silent_wav(seconds: float) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(1)
        handle.setframerate(8000)
        handle.writeframes(b"\x80" * int(8000 * seconds))
    return buffer.getvalue()


def planned(tmp_path: Path) -> tuple[Prepared, LockState, SpecPlan]:
    write(tmp_path / "people.csv", PEOPLE)
    (tmp_path / "intro.wav").write_bytes(silent_wav(2.0))
    spec = write(tmp_path / "shop.yaml", SPEC)
    prepared = prepare(spec)
    requests = {r.name: r for r in prepared.requests}
    lock = LockState()

    def record(name: str, **fields: object) -> VideoRecord:
        request = requests[name]
        base: dict[str, object] = {
            "fingerprint": request.fingerprint,
            "key": request.key,
            "inputs": request.inputs,
            "provider": request.provider,
        }
        return VideoRecord(**{**base, **fields})  # type: ignore[arg-type]

    done = VideoOutput(path="out/v-done.mp4", sha256="a" * 64, bytes=10, mtime_ns=1)
    lock.videos["v-done"] = record("v-done", status=Status.COMPLETED, job_id="j1", output=done)
    lock.videos["v-gone"] = record(
        "v-gone",
        status=Status.COMPLETED,
        job_id="j0",
        output=VideoOutput(path="out/v-gone.mp4", sha256="b" * 64, bytes=10, mtime_ns=1),
    )
    lock.videos["v-failed"] = record(
        "v-failed", status=Status.FAILED, job_id="j2", error="avatar 7 is <retired>"
    )
    lock.videos["v-running"] = record("v-running", status=Status.SUBMITTED, job_id="j3")
    lock.videos["v-pending"] = record("v-pending", status=Status.SUBMITTING)
    lock.videos["v-unknown"] = record("v-unknown", status=Status.UNKNOWN, error="timed out")
    old = dict(requests["v-changed"].inputs)
    old["script"] = "Hello Gustav"
    lock.videos["v-changed"] = record(
        "v-changed", fingerprint="f" * 64, inputs=old, status=Status.COMPLETED, job_id="j5"
    )
    lock.videos["spoken"] = record("spoken", status=Status.COMPLETED, job_id="j6")
    lock.videos["local-pending"] = record("local-pending", status=Status.SUBMITTING)
    # An orphan: in the lockfile, no longer in the spec. Nobody reviews it.
    lock.videos["left-the-spec"] = VideoRecord(fingerprint="e" * 64, status=Status.COMPLETED)
    from reelform.plan.diff import diff

    outputs = {"v-done": _ok(), "v-gone": _missing()}
    plan = diff(str(spec), prepared.requests, prepared.avatars, lock, outputs, "shop.lock")
    return prepared, lock, plan


def _ok() -> object:
    from reelform.state.outputs import OutputStatus

    return OutputStatus.OK


def _missing() -> object:
    from reelform.state.outputs import OutputStatus

    return OutputStatus.MISSING


def by_name(cards: list[Card]) -> dict[str, Card]:
    return {card.name: card for card in cards}


def test_every_status_in_a_reviewers_words(tmp_path: Path) -> None:
    prepared, lock, plan = planned(tmp_path)
    facts = SpecFacts(
        {"v-done": MediaFacts(MediaState.OK, "a" * 64), "v-gone": MediaFacts(MediaState.MISSING)}
    )
    cards = by_name(cards_for(prepared.spec, plan, lock, facts))

    assert list(cards) == [
        "v-done",
        "v-failed",
        "v-running",
        "v-pending",
        "v-unknown",
        "v-new",
        "v-changed",
        "v-gone",
        "spoken",
        "local-pending",
    ]  # the spec's order; the orphan has no card
    assert cards["v-done"].status is CardStatus.COMPLETED
    assert cards["v-failed"].status is CardStatus.FAILED
    assert cards["v-failed"].reason == "avatar 7 is <retired>"  # the provider's words
    assert cards["v-running"].status is CardStatus.RUNNING
    # Submitting, no job id: JoggAI cannot look the job up, so nobody knows if it was
    # made (unknown); the local renderer finds its jobs again, so it is pending.
    assert cards["v-pending"].status is CardStatus.UNKNOWN
    assert cards["local-pending"].status is CardStatus.PENDING
    assert cards["local-pending"].free and cards["local-pending"].credits == 0
    assert cards["v-unknown"].status is CardStatus.UNKNOWN
    assert cards["v-unknown"].reason is not None and "timed out" in cards["v-unknown"].reason
    assert cards["v-new"].status is CardStatus.CREATE
    assert cards["v-new"].status.label == "will be created"
    assert cards["v-changed"].status is CardStatus.REPLACE
    assert cards["v-changed"].changed == ("script",)
    assert cards["v-gone"].status is CardStatus.COMPLETED

    done = cards["v-done"]
    assert (done.provider, done.aspect, done.captions, done.voice) == (
        "jogg",
        "portrait",
        True,
        "script",
    )
    assert done.script == "Hello Ann"
    assert done.origin is not None and done.origin.startswith("row ")
    assert done.origin.endswith("people.csv:2")  # the data row, as messages name it
    assert done.credits > 0 and not done.free
    assert done.output is not None and done.output.state is MediaState.OK
    assert done.output.path == tmp_path / "out/v-done.mp4"
    assert done.output.key == media_key("output", str(tmp_path / "shop.yaml"), "v-done")
    gone = cards["v-gone"].output
    assert gone is not None and gone.problem == "output file missing"
    assert cards["v-failed"].aspect == "landscape" and cards["v-running"].aspect == "square"
    assert cards["spoken"].voice == "audio" and cards["spoken"].audio == "intro"
    assert cards["spoken"].script is None
    assert cards["v-new"].output is None  # nothing rendered yet
    assert "hello flo" in cards["v-new"].search_text


def test_an_approval_holds_for_the_render_it_names_only(tmp_path: Path) -> None:
    prepared, lock, plan = planned(tmp_path)
    requests = {r.name: r for r in prepared.requests}
    approvals = Approvals(
        {"v-done": requests["v-done"].fingerprint, "v-new": "0" * 64}  # v-new: changed since
    )
    cards = by_name(cards_for(prepared.spec, plan, lock, SpecFacts({}, approvals=approvals)))
    assert cards["v-done"].approved
    assert not cards["v-new"].approved
    assert cards["v-new"].void  # approved once, as another render: it changed since
    assert not cards["v-done"].void and not cards["v-failed"].void
    assert not cards["v-failed"].approved
    assert cards["v-done"].identity == requests["v-done"].fingerprint


def test_previews_show_beside_the_cards_apply_would_render(tmp_path: Path) -> None:
    prepared, lock, plan = planned(tmp_path)
    previews = LockState()
    for name, fingerprint in (("v-new", "1" * 64), ("v-changed", "2" * 64), ("v-done", "3" * 64)):
        previews.videos[name] = VideoRecord(
            fingerprint=fingerprint,
            status=Status.COMPLETED,
            output=VideoOutput(path=f"preview/shop/{name}.mp4", sha256="c" * 64),
        )
    seen = {name: MediaFacts(MediaState.OK, "c" * 64) for name in previews.videos}
    facts = SpecFacts({}, previews, seen, {"v-new": "1" * 64, "v-changed": "9" * 64})
    cards = by_name(cards_for(prepared.spec, plan, lock, facts))
    fresh = cards["v-new"].preview
    assert fresh is not None and not fresh.stale
    assert fresh.path == tmp_path / "preview/shop/v-new.mp4"
    stale = cards["v-changed"].preview
    assert stale is not None and stale.stale  # of an earlier version of the video
    assert cards["v-done"].preview is None  # nothing to render: nothing to preview
    assert cards["v-running"].preview is None


def test_plan_prepared_gives_the_same_cards(tmp_path: Path) -> None:
    """The gallery plans like `plan` does (project.plan_prepared, its fast paths too)."""
    write(tmp_path / "people.csv", PEOPLE)
    (tmp_path / "intro.wav").write_bytes(silent_wav(2.0))
    prepared = prepare(write(tmp_path / "shop.yaml", SPEC))
    cards = cards_for(prepared.spec, plan_prepared(prepared), prepared.lock, SpecFacts({}))
    assert {c.status for c in cards} == {CardStatus.CREATE}
    assert len(cards) == 10


def test_a_renamed_video_shows_the_picture_it_already_has(tmp_path: Path) -> None:
    """A move renders nothing: its card is the completed video under its old name."""
    from reelform.plan.diff import Action, diff

    prepared, lock, _plan = planned(tmp_path)
    new = next(r for r in prepared.requests if r.name == "v-new")
    moved = VideoOutput(path="out/v-old.mp4", sha256="c" * 64, bytes=10, mtime_ns=1)
    lock.videos["v-old"] = VideoRecord(
        fingerprint=new.fingerprint,
        key=new.key,
        inputs=new.inputs,
        provider=new.provider,
        status=Status.COMPLETED,
        job_id="j9",
        output=moved,
    )
    outputs = {"v-done": _ok(), "v-gone": _missing(), "v-old": _ok()}
    plan = diff(str(prepared.spec.path), prepared.requests, prepared.avatars, lock, outputs)
    assert {i.name: i.action for i in plan.items}.get("v-new") is Action.MOVE
    facts = SpecFacts({"v-old": MediaFacts(MediaState.OK, "c" * 64)})  # as the lock has it
    card = by_name(cards_for(prepared.spec, plan, lock, facts))["v-new"]
    assert card.status is CardStatus.COMPLETED
    assert card.reason == "renamed from v-old: no render, no cost"
    assert card.output is not None and card.output.path.name == "v-old.mp4"
    assert card.output.state is MediaState.OK
