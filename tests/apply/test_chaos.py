"""Crash safety: `reelform apply` SIGKILLed at random moments, twenty times over.

The simulator runs as a real server in this process; apply runs as a real
subprocess and is killed at seeded-random instants (during uploads, submits,
polls, downloads or compaction, wherever it happens to be). After every kill the
lockfile and journal load, no output file is partial, and `plan` shows every
submitted, unfinished video as `resume`. Finally apply runs to completion and the
simulator's request log proves that no video was paid for twice, except where a
person decided to risk it.
"""

from __future__ import annotations

import random
import re
import signal
import time
from collections import Counter

import httpx
import pytest
from applykit import (
    Project,
    SimServer,
    assert_whole_outputs,
    follow,
    plan_actions,
    run_cli,
    start_cli,
)

from reelform.state.lockfile import read_lock

pytestmark = pytest.mark.slow

VIDEOS = 200
KILLS = 20
#: A provider minute lasts 0.6 s, so the 20 POST/min limit spreads the 200 submits
#: over some 6 s; renders are made to take 0.2-1 s.
CHAOS_SCALE = 0.01
RENDER_SECONDS = (20.0, 100.0)
KEY_IN_NAME = re.compile(r"\[(rf-[0-9a-f]+)\]")


def creates_per_key(sim: SimServer) -> Counter[str]:
    """Renders the simulator accepted (and charged for), by reelform's video key.

    Counted from the simulator's jobs, not from the request log: a request cut off
    mid-body by the kill reaches the log too, but creates nothing.
    """
    counts: Counter[str] = Counter()
    for job in list(sim.sim.jobs.values()):
        if job.kind == "motion":
            continue  # photo avatars are counted by motions()
        match = KEY_IN_NAME.search(str(job.info.get("name", "")))
        assert match, job.info
        counts[match.group(1)] += 1
    assert sum(counts.values()) <= len(sim.creates())
    return counts


def motions(sim: SimServer) -> int:
    """Photo avatars the simulator accepted (and charged for)."""
    return sum(1 for job in list(sim.sim.jobs.values()) if job.kind == "motion")


def chaos_spec(project: Project) -> None:
    """200 JoggAI videos: most by script, every 5th by an uploaded audio file, every
    7th with a photo avatar that must be made first, so kills land in uploads and
    photo-avatar creation too.

    The audio videos are all one render: applied with --no-reuse, each is a create of
    its own, which is what this test counts (copies under kills:
    test_apply_reuse.py)."""
    from applykit import VOICE, png_bytes, wav_bytes

    project.write("assets/intro.wav", wav_bytes(2.0, 16000, tone=5))
    project.write("assets/founder.png", png_bytes(800, 800))
    kinds = [
        "photo" if i % 7 == 0 else "audio" if i % 5 == 0 else "script" for i in range(1, VIDEOS + 1)
    ]
    rows = "id,kind,text\n" + "".join(
        f"{i},{k},Hello number {i}\n" for i, k in enumerate(kinds, start=1)
    )
    project.write("data/spec.csv", rows)
    project.write(
        "spec.yaml",
        f"""
        version: 1
        provider: jogg
        output: out/spec
        assets: {{intro: assets/intro.wav, portrait: assets/founder.png}}
        avatars:
          founder: {{image: portrait, voice_id: {VOICE}}}
        data: {{rows: data/spec.csv}}
        defaults:
          avatar: {{id: 81}}
          voice: {{voice_id: {VOICE}}}
        videos:
          - name: "v{{{{ row.id }}}}"
            for_each: rows
            when: "{{{{ row.kind == 'script' }}}}"
            voice: {{script: "{{{{ row.text }}}}"}}
          - name: "v{{{{ row.id }}}}"
            for_each: rows
            when: "{{{{ row.kind == 'audio' }}}}"
            voice: {{audio: intro}}
          - name: "v{{{{ row.id }}}}"
            for_each: rows
            when: "{{{{ row.kind == 'photo' }}}}"
            avatar: {{photo: founder}}
            voice: {{script: "{{{{ row.text }}}}"}}
    """,
    )


def check_after_kill(project: Project, env: dict[str, str], http: httpx.Client) -> None:
    """The invariants that must hold whatever instant the process died at."""
    lock_path = project.root / "spec.lock"
    state = read_lock(lock_path)  # lockfile + journal load (a torn last line is ignored)
    assert_whole_outputs(project, state, http)  # and no stray temp file
    actions = plan_actions(project, env)
    for name, entry in state.videos.items():
        # A job id on record is resumed; an interrupted submit is unknown, since
        # JoggAI cannot be asked which job it made (never "resume").
        expected = {"submitted": "resume", "submitting": "unknown"}.get(entry.status or "")
        if expected is not None:
            assert actions.get(name) == expected, (name, entry, actions.get(name))


def test_twenty_sigkills_never_pay_twice_unasked(sim: SimServer, project: Project) -> None:
    """Kill apply 20 times, finish it, and count the creates per video key.

    Exactly one create per video, except videos recorded `unknown`: those were
    killed between the durable intent and the durable job id, so whether JoggAI
    took them cannot be known (it offers no lookup). They got at most one create,
    and `plan` shows them as `unknown`. Only `apply --resubmit-unknown`, a person's
    explicit decision to risk paying twice, submits them again; after it every
    video is complete, and the only videos created twice are among those unknown.
    """
    sim.config.time_scale = CHAOS_SCALE
    sim.config.rate_window_seconds = 60 * CHAOS_SCALE
    sim.config.jogg_render_seconds = RENDER_SECONDS
    chaos_spec(project)
    env = sim.env(REELFORM_TIME_SCALE=str(CHAOS_SCALE))
    rng = random.Random(20261122)
    killed_during = Counter[str]()
    with httpx.Client() as http:
        for _round in range(KILLS):
            process = start_cli(
                ["apply", "--yes", "--no-reuse", "--parallel", "16", "spec.yaml"], env, project.root
            )
            events = follow(process)
            if rng.random() < 0.5:  # at a random instant, start-up included
                deadline = time.monotonic() + rng.uniform(0.1, 1.5)
            else:  # after a random number of events, wherever the run is then
                wanted = rng.randint(1, 40)
                deadline = time.monotonic() + 15
                while (
                    len(events) < wanted and time.monotonic() < deadline and process.poll() is None
                ):
                    time.sleep(0.002)
                deadline = time.monotonic() + rng.uniform(0.0, 0.03)
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.002)
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
                killed_during["run"] += 1
            else:
                killed_during["after exit"] += 1
            process.wait(timeout=30)
            check_after_kill(project, env, http)
        assert killed_during["run"] >= KILLS // 2, killed_during

        final = run_cli(
            ["apply", "--yes", "--no-reuse", "--parallel", "16", "spec.yaml"], env, project.root
        )
        state = project.lock()
        unknown = {n for n, e in state.videos.items() if e.status == "unknown"}
        [avatar] = state.avatars.values()
        avatar_unknown = avatar.status == "unknown"
        assert avatar.status in ("completed", "unknown"), avatar
        if avatar_unknown:
            assert motions(sim) <= 1  # killed between its intent and its motion id
        else:
            assert motions(sim) == 1
        # Videos of an avatar in doubt wait for a person's decision too (never sent).
        waiting = {n for n, e in state.videos.items() if e.status == "failed"}
        assert all("--resubmit-unknown" in state.videos[n].error for n in waiting)
        assert not waiting or avatar_unknown
        assert final.code == (1 if unknown or waiting else 0), final.text
        assert {e.status for e in state.videos.values()} <= {"completed", "unknown", "failed"}
        assert len(state.uploads) == 2  # the audio and the portrait, each once
        keys = {e.key: n for n, e in state.videos.items()}
        counts = creates_per_key(sim)
        assert set(counts) <= set(keys)
        for key, name in keys.items():
            if name in unknown:
                assert counts[key] <= 1, (name, counts[key])
            elif name in waiting:
                assert counts[key] == 0, (name, counts[key])
            else:
                assert counts[key] == 1, (name, counts[key])
        # An intent is durable only once a request holds its slot and rate-limit token:
        # a kill leaves at most the few submits then in flight unknown, not the queue.
        assert len(unknown) <= 2 * KILLS, len(unknown)
        if unknown:
            # Videos: the photo avatar killed mid-submit is `unknown` too, under its name.
            actions = {n: a for n, a in plan_actions(project, env).items() if n in state.videos}
            assert {n for n, a in actions.items() if a == "unknown"} == unknown
            assert set(actions.values()) <= {"unknown", "retry"}

        again = run_cli(
            ["apply", "--yes", "--no-reuse", "--resubmit-unknown", "spec.yaml"], env, project.root
        )
        assert again.code == 0, again.text
        state = project.lock()
        assert {e.status for e in state.videos.values()} == {"completed"}
        assert len(state.videos) == VIDEOS
        check_after_kill(project, env, http)
        assert sorted(p.name for p in project.outputs()) == sorted(
            f"v{i}.mp4" for i in range(1, VIDEOS + 1)
        )
        counts = creates_per_key(sim)
        twice = {keys[k] for k, c in counts.items() if c == 2}
        assert twice <= unknown
        assert max(counts.values()) <= 2
        assert set(counts) == set(keys)
        assert motions(sim) <= (2 if avatar_unknown else 1)
    print(f"kills: {dict(killed_during)}, unknown: {len(unknown)}, created twice: {len(twice)}")
