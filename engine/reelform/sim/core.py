"""The simulator's state: jobs, uploads, the request log, credits, rate windows.

One ``Simulator`` serves both providers, so a test sees every request in one ordered
log. Job state is computed from the clock when asked (``Job.phase``) instead of being
advanced by timers: a poll at any moment gets the status the provider would show then,
and only webhook deliveries need a background task. Randomness comes from two seeded
generators, one for jobs and one for faults, so changing a fault rate mid-test does not
shift render times.

``Simulator.made`` is the provider's own ledger: one ``Made`` per paid thing that was
actually made (a video, a motion, a Mirako task, a speech synthesis), whatever the
client was told afterwards. Tests count it to prove "never paid twice".
"""

from __future__ import annotations

import asyncio
import hashlib
import random
import secrets
import string
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from reelform.sim.config import SimConfig

REDACTED = "***"
AUTH_HEADERS = {"x-api-key", "authorization"}
# Scope keys by which the fault middleware tells the routes which log entry is theirs.
RECORD_KEY = "reelform.sim.record"
INDEX_KEY = "reelform.sim.index"


@dataclass
class RequestRecord:
    """One request as the simulator saw it (auth header values replaced by ``***``)."""

    provider: str  # "jogg" | "mirako" | "sim" (uploads, files)
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any
    body_size: int
    time: float
    status: int | None = None  # None: no answer yet, or the connection was dropped
    fault: str | None = None  # the fault injected into this request, if any
    body: bytes = b""  # the raw body when it is not JSON (an upload PUT), else empty
    made: str | None = None  # the id of what this request made (and was charged for)

    def to_json(self) -> dict[str, Any]:
        """JSON-safe: the raw body is left out (``body_size`` tells its length)."""
        return {k: v for k, v in self.__dict__.items() if k != "body"}


@dataclass
class Upload:
    """An asset slot from /upload/asset; ``data`` is None until the PUT arrives."""

    token: str
    filename: str
    content_type: str  # what the PUT must carry
    version: str  # "v1" | "v2"
    data: bytes | None = None
    stored_type: str = ""


@dataclass
class Job:
    """A render (video, motion or Mirako task) whose phase follows the clock."""

    kind: str  # "jogg_v2" | "jogg_v1" | "motion" | "mirako"
    id: str
    created: float  # wall clock, for created_at
    started: float  # monotonic
    queue_seconds: float  # scaled
    render_seconds: float  # scaled
    fails: bool
    duration: float  # seconds of output video
    fail_reason: str = ""
    webm: bool = False
    info: dict[str, Any] = field(default_factory=dict)
    # Seconds (scaled) after its start during which status reads do not find the job
    # (not_found_seconds); relative to ``started`` so moving a job's clock moves it too.
    hidden_seconds: float = 0.0

    def phase(self, now: float | None = None) -> str:
        """ "queued" | "rendering" | "completed" | "failed" at monotonic time ``now``."""
        elapsed = (time.monotonic() if now is None else now) - self.started
        if elapsed < self.queue_seconds:
            return "queued"
        if elapsed < self.queue_seconds + self.render_seconds:
            return "rendering"
        return "failed" if self.fails else "completed"

    def seconds_left(self) -> float:
        return max(0.0, self.started + self.queue_seconds + self.render_seconds - time.monotonic())


@dataclass
class Made:
    """One paid thing the provider made: what a client can be charged twice for.

    ``sha256`` maps input names to the sha256 of the bytes the provider received
    (Mirako ``image``/``audio`` decoded from base64, JoggAI's uploaded ``audio_url``/
    ``image_url`` bytes, TTS ``text`` as UTF-8), so a test can attribute a Mirako task,
    which carries no name, to the video whose files went into it.
    """

    provider: str  # "jogg" | "mirako"
    kind: str  # "jogg_v2" | "jogg_v1" | "motion" | "mirako" | "tts"
    id: str  # video_id, project_id, motion_id, task_id, or the TTS answer's id
    cost: float  # credits charged
    request: int | None  # index into Simulator.requests of the request that made it
    name: str = ""  # video_name, v1 title or motion name; Mirako has none
    sha256: dict[str, str] = field(default_factory=dict)
    output_sha256: str = ""  # TTS: the audio returned, to follow it into a task

    def matches(self, ref: str) -> bool:
        """True when ``ref`` is part of the name (e.g. "[rf-ab12]") or an input sha256."""
        return (bool(self.name) and ref in self.name) or ref in self.sha256.values()

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


FAIL_REASONS = (
    "Face not detected in the avatar source",
    "Audio could not be aligned with the avatar",
    "Render worker crashed; please resubmit",
)


class Simulator:
    """State shared by the JoggAI and Mirako apps; ``reset()`` empties it."""

    def __init__(self, config: SimConfig) -> None:
        self.config = config
        self.requests: list[RequestRecord] = []
        self.tasks: set[asyncio.Task[None]] = set()
        # Webhook delivery clients by (transport, event loop): see webhooks._client.
        self.webhook_clients: dict[tuple[int, int], Any] = {}
        self.reset()

    def reset(self) -> None:
        """Forget every job, upload, request and webhook; re-seed the generators."""
        for task in self.tasks:
            task.cancel()
        self.tasks = set()
        self.requests.clear()
        self.jobs: dict[str, Job] = {}
        self.uploads: dict[str, Upload] = {}
        self.files: dict[str, tuple[bytes, str]] = {}  # name -> (bytes, content type)
        self.endpoints: dict[str, dict[str, Any]] = {}
        self.made: list[Made] = []
        self.webhook_log: list[dict[str, Any]] = []
        self.rng = random.Random(self.config.seed)
        self.fault_rng = random.Random(self.config.seed + 1)
        self.jogg_credits = self.config.jogg_credits
        self.mirako_credits = self.config.mirako_credits
        # provider -> API key -> balance, for the keys that have one of their own.
        self.key_credits: dict[str, dict[str, float]] = {
            "jogg": dict(self.config.jogg_key_credits),
            "mirako": dict(self.config.mirako_key_credits),
        }
        self.post_windows: dict[str, deque[float]] = {}
        self.api_posts = 0
        self.api_reads = 0  # provider API GETs so far: the unauthorized window's clock
        self.burst_left = 0
        self.next_avatar_id = 500_001
        self.sign_key = secrets.token_bytes(16)  # signs upload URLs (a capability)

    # --- ids ---------------------------------------------------------------------
    def hex_id(self, length: int = 32) -> str:
        return "".join(self.rng.choice("0123456789abcdef") for _ in range(length))

    def task_id(self) -> str:
        alphabet = string.ascii_lowercase + string.digits
        while True:
            candidate = "".join(self.rng.choice(alphabet) for _ in range(8))
            if candidate not in self.jobs:
                return candidate

    @staticmethod
    def token() -> str:
        """Unguessable upload token (not from the seeded RNG: it is a capability)."""
        return secrets.token_hex(16)

    # --- jobs --------------------------------------------------------------------
    def new_job(
        self,
        kind: str,
        job_id: str,
        render_range: tuple[float, float],
        duration: float,
        **info: Any,
    ) -> Job:
        """Draw the job's timing and fate from the seeded RNG and store it."""
        cfg = self.config
        total = cfg.scaled(self.rng.uniform(*render_range))
        queue = total * self.rng.uniform(0.05, 0.2)
        fails = self.rng.random() < cfg.render_fail_rate
        reason = self.rng.choice(FAIL_REASONS)
        job = Job(
            kind=kind,
            id=job_id,
            created=time.time(),
            started=time.monotonic(),
            queue_seconds=queue,
            render_seconds=total - queue,
            fails=fails,
            duration=duration,
            fail_reason=reason if fails else "",
            info=info,
        )
        if cfg.not_found_seconds > 0 and (
            # No draw at rate 1 (the default), so it shifts no other fault.
            cfg.not_found_rate >= 1 or self.fault_rng.random() < cfg.not_found_rate
        ):
            job.hidden_seconds = cfg.scaled(cfg.not_found_seconds)
        self.jobs[job_id] = job
        return job

    def find_job(self, scope: Mapping[str, Any], job_id: str, kind: str) -> Job | None:
        """The job a status read asks for; None when missing or not visible yet.

        A hidden job is logged as the request's ``not_found_yet`` fault, so a test can
        tell the provider's lag from a job that does not exist.
        """
        job = self.jobs.get(job_id)
        if job is None or job.kind != kind:
            return None
        if time.monotonic() - job.started < job.hidden_seconds:
            record = scope.get(RECORD_KEY)
            if isinstance(record, RequestRecord):
                record.fault = "not_found_yet"
            return None
        return job

    def record_made(
        self,
        scope: Mapping[str, Any],
        provider: str,
        kind: str,
        made_id: str,
        cost: float,
        **details: Any,
    ) -> Made:
        """Enter a paid thing in the ledger and mark the request that made it."""
        record = scope.get(RECORD_KEY)
        if isinstance(record, RequestRecord):
            record.made = made_id
        index = scope.get(INDEX_KEY)
        made = Made(
            provider, kind, made_id, cost, index if isinstance(index, int) else None, **details
        )
        self.made.append(made)
        return made

    def made_for(self, ref: str, kind: str | None = None) -> list[Made]:
        """What was made for ``ref``: a name fragment (the client's "[rf-...]" key) or
        the sha256 of an input file (an image or audio of a Mirako task)."""
        return [m for m in self.made if m.matches(ref) and (kind is None or m.kind == kind)]

    def spawn(self, coro: Any) -> None:
        """Run a background coroutine (webhooks), keeping a reference until it ends."""
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    # --- credits -----------------------------------------------------------------
    def balance(self, provider: str, key: str) -> float:
        """What ``key`` may still spend at ``provider``: its own balance, or the shared
        one (``jogg_credits``, ``mirako_credits``) when it has none of its own."""
        own = self.key_credits[provider].get(key)
        return own if own is not None else self.shared_balance(provider)

    def shared_balance(self, provider: str) -> float:
        return self.jogg_credits if provider == "jogg" else self.mirako_credits

    def charge(self, provider: str, key: str, cost: float) -> bool:
        """Take ``cost`` from the key's balance; False (nothing taken) when it is short.

        Checked and taken in one step with no await between, so concurrent creates
        can never overdraw the account."""
        left = self.balance(provider, key)
        if left < cost:
            return False
        if key in self.key_credits[provider]:
            self.key_credits[provider][key] = left - cost
        elif provider == "jogg":
            self.jogg_credits = left - cost
        else:
            self.mirako_credits = left - cost
        return True

    def set_balance(self, provider: str, key: str | None, credits: float) -> None:
        """Set a key's own balance, or (``key`` None) the shared one."""
        if key is not None:
            self.key_credits[provider][key] = credits
        elif provider == "jogg":
            self.jogg_credits = credits
        else:
            self.mirako_credits = credits

    def credits_json(self) -> dict[str, Any]:
        """``GET /_sim/credits``: the shared balances and each key's own."""
        return {
            "jogg": self.jogg_credits,
            "mirako": self.mirako_credits,
            "keys": {provider: dict(keys) for provider, keys in self.key_credits.items()},
        }

    # --- limits ------------------------------------------------------------------
    def rate_limited(self, key: str) -> float | None:
        """Count a JoggAI POST; seconds until a slot frees when over the limit."""
        cfg = self.config
        now = time.monotonic()
        window = self.post_windows.setdefault(key, deque())
        while window and window[0] <= now - cfg.rate_window_seconds:
            window.popleft()
        if len(window) >= cfg.rate_limit_per_minute:
            return max(0.001, window[0] + cfg.rate_window_seconds - now)
        window.append(now)
        return None

    def public_base(self, scheme: str, host: str) -> str:
        if self.config.public_base_url:
            return self.config.public_base_url.rstrip("/")
        return f"{scheme}://{host}"


def redact_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    """Request headers for the log, with credentials replaced."""
    out: dict[str, str] = {}
    for name_bytes, value_bytes in raw:
        name = name_bytes.decode("latin-1").lower()
        value = value_bytes.decode("latin-1")
        out[name] = REDACTED if name in AUTH_HEADERS else value
    return out
