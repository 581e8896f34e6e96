"""Credits before paying, end to end over real HTTP against the simulators:

* `apply` reads JoggAI's remaining quota first and refuses an estimate above it
  (exit 1, nothing sent) unless `--ignore-quota`, which it says;
* when an account answers "insufficient credit" mid-run (JoggAI 18020, Mirako 402),
  apply stops submitting on it at once: the videos not yet sent are left to create,
  not failed; jobs already submitted are still polled and downloaded; the summary
  says why and how many, and the exit code is 1;
* after a top-up, apply makes the rest and nothing twice (the simulator's ledger);
* `plan --check-remote` shows the quota beside the estimate and never fails for it.
"""

from __future__ import annotations

import json
import re

import httpx
import pytest
from applykit import (
    JOGG_CREATES,
    JOGG_KEY,
    MIRAKO_CREATE,
    MIRAKO_KEY,
    InProcess,
    Project,
    SimServer,
    wav_bytes,
)

#: The tests that matter most run on both state backends (lockfiles, PostgreSQL rows).
BOTH_BACKENDS = pytest.mark.usefixtures("state_backend")

QUOTA = "/jogg/v2/user/remaining_quota"


def refill(sim: SimServer, provider: str, key: str, credits: float) -> None:
    """Top up through the control endpoint, as a test of a separate server would."""
    answer = httpx.post(
        f"{sim.base}/_sim/credits", json={"provider": provider, "key": key, "add": credits}
    )
    assert answer.status_code == 200, answer.text


def actions(cli: InProcess, spec: str = "spec.yaml") -> dict[str, str]:
    result = cli("plan", "--json", spec)
    assert result.code == 0, result.text
    return {
        item["name"]: item["action"]
        for planned in json.loads(result.out)["specs"]
        for item in planned["items"]
    }


def made_once_each(sim: SimServer, project: Project, names: list[str]) -> None:
    """The ledger: exactly one paid video per name, found by its idempotency key."""
    lock = project.lock()
    for name in names:
        key = lock.videos[name].key
        assert key is not None
        assert len(sim.sim.made_for(f"[{key}]")) == 1, name
    assert len(sim.sim.made) == len(names)


@BOTH_BACKENDS
@pytest.mark.sim(jogg_key_credits={JOGG_KEY: 3.0})
def test_out_of_credit_mid_run_leaves_the_rest_to_create_then_a_refill_finishes(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(6)  # six 1-credit videos, a balance for three
    result = cli("apply", "--yes", "--ignore-quota", "spec.yaml")
    assert result.code == 1, result.text
    assert "starting anyway (--ignore-quota)" in result.text
    assert "Apply: 3 completed, 3 not started." in result.out, result.out
    assert re.search(
        r"Stopped submitting to JoggAI: it answered insufficient credit\. 3 videos were not "
        r"submitted and left to create",
        result.out,
    ), result.out
    assert "failed" not in result.out
    lock = project.lock()
    completed = sorted(n for n, e in lock.videos.items() if e.status == "completed")
    assert len(completed) == 3 and len(project.outputs()) == 3
    assert set(lock.videos) == set(completed)  # no failed, unknown or submitting record
    assert len(sim.sim.made) == 3
    left = {f"v{i}" for i in range(1, 7)} - set(completed)
    assert actions(cli) == dict.fromkeys(left, "create")

    refill(sim, "jogg", JOGG_KEY, 3)
    before = sim.mark()
    again = cli("apply", "--yes", "spec.yaml")  # no override needed: 3 needed, 3 left
    assert again.code == 0, again.text
    assert sorted(r.json["video_name"].split(" ")[0] for r in sim.creates(before)) == sorted(left)
    made_once_each(sim, project, [f"v{i}" for i in range(1, 7)])
    assert actions(cli) == {}


@BOTH_BACKENDS
@pytest.mark.sim(jogg_key_credits={JOGG_KEY: 2.0})
def test_the_stop_is_at_once_and_covers_every_spec_on_the_account(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    """One submit in flight at a time: the third create is refused and nothing else is
    sent afterwards, in this spec or in another spec using the same key."""
    project.jogg_spec(3, "a.yaml", prefix="a")
    project.jogg_spec(3, "b.yaml", prefix="b", api_version="v1")
    result = cli("apply", "--yes", "--ignore-quota", "--parallel", "1", "a.yaml", "b.yaml")
    assert result.code == 1, result.text
    creates = [r for r in sim.requests() if r.method == "POST" and r.path in JOGG_CREATES]
    # 18020 comes with HTTP 200 (the envelope's code tells): `made` says what was made.
    assert [r.made is not None for r in creates if r.status != 429] == [True, True, False]
    assert "4 videos were not submitted and left to create" in result.out, result.out
    for spec in ("a.yaml", "b.yaml"):
        lock = project.lock(spec)
        assert {e.status for e in lock.videos.values()} <= {"completed"}, spec


@pytest.mark.sim(jogg_key_credits={JOGG_KEY: 3.0})
def test_apply_refuses_an_estimate_above_the_quota(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(6)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1
    assert "the plan needs about 6 JoggAI credits and JoggAI has 3 left" in result.err
    assert "nothing was done" in result.err and "--ignore-quota" in result.err
    assert "Traceback" not in result.text
    assert sim.posts() == [] and not (project.root / "spec.lock").exists()
    assert [r.path for r in sim.requests() if r.method == "GET"] == [QUOTA]
    # --max-credits is checked first, with its own message, and reads nothing.
    before = sim.mark()
    budget = cli("apply", "--yes", "--max-credits", "5", "spec.yaml")
    assert budget.code == 1 and "more than --max-credits 5" in budget.err
    assert sim.requests(before) == []
    # Within the quota, apply starts and says nothing about it.
    fits = cli("apply", "--yes", "--target", "v[123]", "spec.yaml")
    assert fits.code == 0, fits.text
    assert "Quota" not in fits.text


@pytest.mark.sim(unauthorized_reads_after=0, unauthorized_reads_count=1)
def test_a_quota_that_cannot_be_read_does_not_stop_apply(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(2)
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert "Quota: JoggAI: could not read the remaining quota" in result.err, result.err
    assert "not checked" in result.err and JOGG_KEY not in result.text
    assert [r.status for r in sim.requests() if r.path == QUOTA] == [401]


def test_a_plan_with_nothing_to_pay_reads_no_quota(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(2)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    before = sim.mark()
    assert cli("apply", "--yes", "spec.yaml").code == 0  # nothing to do
    assert [r for r in sim.requests(before) if r.path == QUOTA] == []


def test_local_videos_need_no_quota(local_cli: InProcess, project: Project) -> None:
    """The provider is `local` and the JoggAI base URL points at a closed port
    (tests/conftest.py): a quota read would fail; none is made, nothing is said."""
    project.write(
        "spec.yaml",
        """
        version: 1
        provider: local
        output: out/spec
        videos:
          - name: hello
            avatar: {id: 1}
            voice: {script: "Hello there"}
        """,
    )
    result = local_cli("apply", "--yes", "spec.yaml")
    assert result.code == 0, result.text
    assert "Quota" not in result.text and len(project.outputs()) == 1


def mirako_spec(project: Project, count: int) -> None:
    from applykit import png_bytes

    project.write("assets/face.png", png_bytes())
    assets = "".join(f"\n  a{i}: assets/a{i}.wav" for i in range(count))
    for i in range(count):
        project.write(f"assets/a{i}.wav", wav_bytes(2.5, tone=i + 1))
    videos = "".join(
        f"\n  - name: m{i}\n    image: face\n    voice: {{audio: a{i}}}" for i in range(count)
    )
    project.write(
        "spec.yaml",
        "version: 1\nprovider: mirako\noutput: out/spec\n"
        f"assets:\n  face: assets/face.png{assets}\nvideos:{videos}\n",
    )


@pytest.mark.sim(mirako_key_credits={MIRAKO_KEY: 3.0})
def test_mirako_402_stops_its_submits_and_says_it_has_no_quota_endpoint(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    mirako_spec(project, 3)  # each 2.5 s clip costs 3: a balance for one
    plan = cli("plan", "--check-remote", "spec.yaml")
    assert plan.code == 0, plan.text
    assert "Quota: Mirako: its API documents no quota endpoint" in plan.out, plan.out
    result = cli("apply", "--yes", "--parallel", "1", "spec.yaml")  # nothing to check first
    assert result.code == 1, result.text
    assert "Quota" not in result.err
    assert "Stopped submitting to Mirako" in result.out, result.out
    assert "2 videos were not submitted" in result.out
    creates = [r.status for r in sim.requests() if r.path == MIRAKO_CREATE]
    assert creates == [200, 402]  # the third was never sent
    assert {e.status for e in project.lock().videos.values()} == {"completed"}
    refill(sim, "mirako", MIRAKO_KEY, 6)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert len(sim.sim.made) == 3 and len(project.outputs()) == 3


@pytest.mark.sim(jogg_key_credits={JOGG_KEY: 4.0})
def test_plan_check_remote_shows_the_quota_beside_the_estimate(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(6)
    text = cli("plan", "--check-remote", "spec.yaml")
    assert text.code == 0, text.text
    lines = text.out.splitlines()
    estimate = next(i for i, line in enumerate(lines) if line.startswith("Estimate:"))
    assert lines[estimate + 1] == (
        "Quota: JoggAI: 4 credits left; the plan needs about 6 "
        "(NOT ENOUGH: apply refuses without --ignore-quota)."
    )
    document = json.loads(cli("plan", "--check-remote", "--json", "spec.yaml").out)
    assert document["quota"] == [
        {"provider": "jogg", "needed": 6, "remaining": 4.0, "check": "short"}
    ]
    markdown = cli("plan", "--check-remote", "--format", "markdown", "spec.yaml")
    assert re.search(r"\*\*Estimate: .*\*\*\n\nQuota: JoggAI: 4 credits left", markdown.out)
    # Without --check-remote, plan stays offline.
    before = sim.mark()
    assert "Quota" not in cli("plan", "spec.yaml").out
    assert sim.requests(before) == []


@pytest.mark.sim(unauthorized_reads_after=0, unauthorized_reads_count=100)
def test_plan_never_fails_for_a_quota_it_cannot_read(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.jogg_spec(1)
    sim.config.unauthorized_reads_after = 10**6  # the catalogs read fine ...
    catalogs = cli("plan", "--check-remote", "spec.yaml")
    assert catalogs.code == 0, catalogs.text
    sim.config.unauthorized_reads_after = 0  # ... the quota (not cached) does not
    sim.sim.api_reads = 0
    result = cli("plan", "--check-remote", "--json", "spec.yaml")
    assert result.code == 0, result.text
    [reading] = json.loads(result.out)["quota"]
    assert reading["remaining"] is None and reading["check"] == "unread"
    assert "could not read the remaining quota" in reading["error"]
    assert "invalid API key" in reading["error"] and JOGG_KEY not in result.text


@pytest.mark.sim(mirako_key_credits={MIRAKO_KEY: 0.0})
def test_a_402_on_mirakos_speech_also_stops_and_leaves_the_video_to_create(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    project.mirako_speech_spec()
    result = cli("apply", "--yes", "spec.yaml")
    assert result.code == 1, result.text
    assert "Stopped submitting to Mirako" in result.out and "1 video was not" in result.out
    assert [r.path for r in sim.requests() if r.method == "POST"] == ["/mirako/v1/speech/tts"]
    assert project.lock().videos == {} and actions(cli) == {"spoken": "create"}
    refill(sim, "mirako", MIRAKO_KEY, 100)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert [m.kind for m in sim.sim.made] == ["tts", "mirako"]


@pytest.mark.sim(jogg_key_credits={JOGG_KEY: 1.0})
def test_a_photo_avatar_refused_for_credit_leaves_it_and_its_videos_to_create(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    from test_avatars import MOTION, photo_spec

    photo_spec(project)  # a motion (2 credits) and two videos (1 each): 4 needed
    refused = cli("apply", "--yes", "spec.yaml")
    assert refused.code == 1 and "needs about 4 JoggAI credits" in refused.err
    result = cli("apply", "--yes", "--ignore-quota", "spec.yaml")
    assert result.code == 1, result.text
    assert "2 videos were not submitted and left to create" in result.out, result.out
    paid = [r.path for r in sim.posts() if r.path == MOTION or r.path in JOGG_CREATES]
    assert paid == [MOTION]  # neither video was sent
    lock = project.lock()
    assert lock.avatars == {} and lock.videos == {}  # the intent withdrawn, not failed
    assert actions(cli) == {"founder": "create", "f1": "create", "f2": "create"}
    refill(sim, "jogg", JOGG_KEY, 3)
    assert cli("apply", "--yes", "spec.yaml").code == 0
    assert sorted(m.kind for m in sim.sim.made) == ["jogg_v2", "jogg_v2", "motion"]


@pytest.mark.sim(jogg_key_credits={JOGG_KEY: 1.0})
def test_the_python_api_checks_the_quota_and_names_the_stop(
    cli: InProcess, sim: SimServer, project: Project
) -> None:
    import reelform
    from reelform.errors import ConfigError

    project.jogg_spec(2)
    with pytest.raises(ConfigError, match=r"has 1 left.*pass ignore_quota=True"):
        reelform.apply("spec.yaml")
    outcomes = reelform.apply("spec.yaml", ignore_quota=True)
    assert sorted((o.status, o.no_credit) for o in outcomes) == [
        ("completed", None),
        ("pending", "jogg"),
    ]
    assert len(sim.sim.made) == 1
