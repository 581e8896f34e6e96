"""Planning against real files: output files on disk, the lockfile, --target."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from reelform.plan.diff import Action, SpecPlan
from reelform.project import plan_prepared, prepare, target_filter
from reelform.state.lockfile import LockState, write_lock
from reelform.state.records import Status, VideoOutput, VideoRecord

SPEC = """
version: 1
videos:
  - {name: a, voice: {script: one two three four five}}
  - {name: b, voice: {script: six}}
"""


def planned(tree, patterns: tuple[str, ...] = ()) -> SpecPlan:
    return plan_prepared(prepare(Path("spec.yaml")), target_filter(patterns))


def lock_completed(tree, names: list[str], content: bytes = b"video bytes") -> None:
    """A lockfile recording every video as done, with its output file in place."""
    prepared = prepare(Path("spec.yaml"))
    state = LockState()
    for request in prepared.requests:
        if request.name not in names:
            continue
        path = tree.write(f"out/spec/{request.name}.mp4", content)
        stat = path.stat()
        state.videos[request.name] = VideoRecord(
            fingerprint=request.fingerprint,
            inputs=request.inputs,
            provider=request.provider,
            status=Status.COMPLETED,
            output=VideoOutput(
                path=f"out/spec/{request.name}.mp4",
                bytes=stat.st_size,
                mtime_ns=stat.st_mtime_ns,
                sha256=hashlib.sha256(content).hexdigest(),
            ),
        )
    write_lock(Path("spec.lock"), state)


def test_everything_done_is_unchanged(tree) -> None:
    tree.spec(SPEC)
    lock_completed(tree, ["a", "b"])
    result = planned(tree)
    assert (result.items, result.unchanged) == ((), 2)


def test_output_missing(tree) -> None:
    tree.spec(SPEC)
    lock_completed(tree, ["a", "b"])
    os.remove("out/spec/a.mp4")
    assert [(i.action, i.name, i.reason) for i in planned(tree).items] == [
        (Action.DOWNLOAD, "a", "output file missing")
    ]


def test_output_changed_size(tree) -> None:
    tree.spec(SPEC)
    lock_completed(tree, ["a", "b"])
    Path("out/spec/b.mp4").write_bytes(b"other")
    assert [(i.action, i.name) for i in planned(tree).items] == [(Action.DOWNLOAD, "b")]


def test_same_size_mtime_moved_content_same_is_unchanged(tree) -> None:
    tree.spec(SPEC)
    lock_completed(tree, ["a", "b"])
    stat = os.stat("out/spec/a.mp4")
    os.utime("out/spec/a.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))
    assert planned(tree).items == ()


def test_same_size_mtime_moved_content_differs_is_a_download(tree) -> None:
    tree.spec(SPEC)
    lock_completed(tree, ["a", "b"])
    Path("out/spec/a.mp4").write_bytes(b"VIDEO bytes")  # same length
    stat = os.stat("out/spec/a.mp4")
    os.utime("out/spec/a.mp4", ns=(stat.st_atime_ns, stat.st_mtime_ns + 5 * 10**9))
    [item] = planned(tree).items
    assert (item.action, item.reason) == (
        Action.DOWNLOAD,
        "output file differs from the recorded sha256",
    )


def test_create_orphan_and_target(tree) -> None:
    tree.spec(SPEC)
    lock_completed(tree, ["a"])
    tree.spec(SPEC.replace("name: a,", "name: c,"))
    # a renamed c, the same render: a move (plan/moves.py), not a create and an orphan.
    assert [(i.action.value, i.source, i.name) for i in planned(tree).items] == [
        ("create", None, "b"),
        ("move", "a", "c"),
    ]
    # c not selected: a is an orphan of this plan, and nothing moves.
    assert [(i.action.value, i.name) for i in planned(tree, ("a", "b")).items] == [
        ("orphan", "a"),
        ("create", "b"),
    ]


def test_replace_names_the_field(tree) -> None:
    tree.spec(SPEC)
    lock_completed(tree, ["a", "b"])
    tree.spec(SPEC.replace("{script: six}", "{script: seven}"))
    [item] = planned(tree).items
    assert (item.action, item.name, item.changed) == (Action.REPLACE, "b", ("voice.script",))


def test_estimate_from_audio_duration(tree, media) -> None:
    tree.write("a.wav", media["wav"](250))
    tree.spec(
        "version: 1\nprovider: jogg\nassets: {a: a.wav}\n"
        "videos:\n  - {name: x, avatar: {id: 1}, voice: {audio: a, voice_id: v}}\n"
    )
    estimate = planned(tree).estimate
    assert (estimate.videos, estimate.seconds, estimate.credits) == (1, 250.0, 3)


def test_photo_avatar_requests_once_per_provider(tree, media) -> None:
    tree.write("p.png", media["png"](600, 600))
    tree.spec("""
        version: 1
        provider: jogg
        assets: {p: p.png}
        avatars: {me: {image: p, voice_id: v, model: 2.0-Pro}}
        defaults: {avatar: {photo: me}, voice: {voice_id: v}}
        videos:
          - {name: a, voice: {script: hi}}
          - {name: b, voice: {script: hi}}
          - {name: c, provider: local, voice: {script: hi}}
    """)
    result = planned(tree)
    assert [(i.kind, i.name, i.provider, i.credits) for i in result.items] == [
        ("avatar", "me", "jogg", 3),
        ("avatar", "me", "local", 0),
        ("video", "a", "jogg", 1),
        ("video", "b", "jogg", 1),
        ("video", "c", "local", 0),
    ]


def test_target_leaves_out_photo_avatars_no_selected_video_uses(tree, media) -> None:
    tree.write("p.png", media["png"](600, 600))
    tree.spec("""
        version: 1
        provider: jogg
        assets: {p: p.png}
        avatars: {me: {image: p, voice_id: v}, you: {image: p, voice_id: w}}
        defaults: {voice: {voice_id: v}}
        videos:
          - {name: mine, avatar: {photo: me}, voice: {script: hi}}
          - {name: yours, avatar: {photo: you}, voice: {script: hi}}
          - {name: plain, avatar: {id: 1}, voice: {script: hi}}
    """)
    assert [(i.kind, i.name) for i in planned(tree, ("mine",)).items] == [
        ("avatar", "me"),
        ("video", "mine"),
    ]
    assert [(i.kind, i.name) for i in planned(tree, ("plain",)).items] == [("video", "plain")]
    assert len(planned(tree).items) == 5
