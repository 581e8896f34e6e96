"""The simulator's settings: one mutable dataclass, every field with a default.

Tests change it at runtime (``app.state.sim.config.error_rate = 0.5`` in process, or
``POST /_sim/config`` against a separate process), so handlers read it on every request
instead of copying values at start-up. Times are the providers' real times in seconds;
``time_scale`` shrinks every wait (render, webhook retry) so a suite runs in seconds.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

# The default secret that signs JoggAI webhooks; tests verify signatures against it.
DEFAULT_WEBHOOK_SECRET = "whsec_reelform_sim_test_secret"
# What a gateway may answer after its upstream made the job (made_then_gateway_answers).
GATEWAY_ANSWERS = frozenset({"502", "504", "reset"})


@dataclass
class SimConfig:
    """Everything that shapes the simulators' answers. All faults default off."""

    seed: int = 0
    # Multiplies every provider-side wait (render times, webhook retry spacing).
    time_scale: float = 1.0
    # Render time ranges, in provider seconds before scaling.
    jogg_render_seconds: tuple[float, float] = (120.0, 300.0)
    jogg_motion_seconds: tuple[float, float] = (60.0, 180.0)
    mirako_render_seconds: tuple[float, float] = (15.0, 120.0)
    # Keys: None accepts any non-empty key; a set accepts only its members.
    jogg_api_keys: set[str] | None = None
    mirako_api_keys: set[str] | None = None
    # Valid keys that lack API permission (JoggAI 18025, Mirako 403).
    jogg_no_permission_keys: set[str] = field(default_factory=set)
    mirako_forbidden_keys: set[str] = field(default_factory=set)
    # JoggAI rate limit: POSTs per key within a sliding window; GETs are unlimited.
    rate_limit_per_minute: int = 20
    rate_window_seconds: float = 60.0
    # Account balances (credits). JoggAI: 1 per started 2 min of video (the rule of the
    # plan's estimate), 2/3 per motion; exhausted, a create answers 18020.
    jogg_credits: float = 1_000_000.0
    # Mirako pricing is undocumented: the simulator charges 1 credit per started second;
    # exhausted, a create answers a 402 problem.
    mirako_credits: float = 1_000_000.0
    # Balances of particular API keys (key -> credits); a key not named here draws on
    # the shared balance above. Setting one (here or POST /_sim/credits) starts that
    # key's balance afresh; remaining_quota answers the asking key's balance.
    jogg_key_credits: dict[str, float] = field(default_factory=dict)
    mirako_key_credits: dict[str, float] = field(default_factory=dict)
    # JoggAI error HTTP status is undocumented: "ok" answers errors with HTTP 200 (the
    # envelope's code tells), "mapped" with 400/402/403/404/500. 10105 is always 401.
    jogg_error_status: str = "ok"
    # Accept audio_url/image_url values that were not uploaded to this simulator.
    accept_external_urls: bool = False
    # Absolute base for URLs the simulator hands out (sign_url, video_url); None = the
    # scheme and host of the request that created them.
    public_base_url: str | None = None
    jogg_webhook_secret: str = DEFAULT_WEBHOOK_SECRET
    webhook_retries: int = 3
    webhook_retry_seconds: float = 5.0
    webhook_timeout_seconds: float = 5.0
    # --- fault injection (all shares in 0..1, drawn from a seeded RNG) ---
    # Answer 500/502/503 (with or without a body) without processing the request.
    error_rate: float = 0.0
    # Process the request (job created and charged), then cut the connection.
    drop_rate: float = 0.0
    # Cut the connection before processing (nothing happened on the provider side).
    drop_before_rate: float = 0.0
    # Share of requests delayed by slow_seconds (real seconds, not scaled).
    slow_rate: float = 0.0
    slow_seconds: float = 0.0
    # After every burst_429_every API POSTs, the next burst_429_length POSTs get 429.
    burst_429_every: int = 0
    burst_429_length: int = 0
    retry_after_seconds: int = 1
    # Answer JoggAI's documented "system error" envelope (code 50000, HTTP status per
    # jogg_error_status) or a Mirako 500 problem, without processing the request.
    system_error_rate: float = 0.0
    # Answer an HTML 403 page from a web application firewall; nothing is processed.
    waf_403_rate: float = 0.0
    # Answer 503 with Retry-After (retry_after_seconds); nothing is processed: the one
    # 5xx that proves the job was not taken.
    unavailable_rate: float = 0.0
    # Process the request, then wait slow_seconds before answering: a client that gives
    # up sooner has paid for a job it never heard of.
    slow_after_rate: float = 0.0
    # --- targeted faults (they pick their own requests; fault_methods does not apply) ---
    # Paid creates (JoggAI video creates and add_motion, Mirako talking avatar and TTS)
    # are processed, then the client gets a gateway's answer instead of the provider's:
    # one of made_then_gateway_answers ("502", "504" HTML pages, "reset" connection).
    made_then_gateway_rate: float = 0.0
    made_then_gateway_answers: set[str] = field(default_factory=lambda: set(GATEWAY_ANSWERS))
    # For not_found_seconds (provider seconds, scaled) after its create, a status read
    # does not find a new job (JoggAI 10104, Mirako 404); not_found_rate of jobs do this.
    not_found_seconds: float = 0.0
    not_found_rate: float = 1.0
    # A rotated key: provider API GETs answer 401 (JoggAI 10105, Mirako problem). The
    # window is counted in API GETs since start or reset: after unauthorized_reads_after
    # of them, the next unauthorized_reads_count answer 401. The rate is for chaos.
    unauthorized_reads_after: int = 0
    unauthorized_reads_count: int = 0
    unauthorized_reads_rate: float = 0.0
    # Share of jobs that end failed, with a reason.
    render_fail_rate: float = 0.0
    # The terminal status of a failed Mirako task: FAILED, CANCELED or TIMED_OUT.
    mirako_fail_status: str = "FAILED"
    # Result URLs signed for this many provider seconds (S3 presigned URLs), refused
    # after; 0 hands out plain URLs.
    signed_url_seconds: float = 0.0
    # Share of webhook deliveries that are silently never sent.
    webhook_loss_rate: float = 0.0
    # HTTP methods the request faults apply to.
    fault_methods: set[str] = field(default_factory=lambda: {"GET", "POST", "PUT"})
    # In-process delivery of webhooks (e.g. httpx.ASGITransport(receiver)); not JSON.
    webhook_transport: Any = None

    def __post_init__(self) -> None:
        self.check()

    def check(self) -> None:
        """Refuse values that would otherwise be ignored quietly (ValueError)."""
        unknown = set(self.made_then_gateway_answers) - GATEWAY_ANSWERS
        if unknown or not self.made_then_gateway_answers:
            raise ValueError(
                f"made_then_gateway_answers: {', '.join(sorted(unknown)) or 'none given'}; "
                f"choose one or more of {', '.join(sorted(GATEWAY_ANSWERS))}"
            )

    def scaled(self, seconds: float) -> float:
        """Provider seconds -> wall-clock seconds."""
        return seconds * self.time_scale

    def to_json(self) -> dict[str, Any]:
        """The JSON-safe view served by ``GET /_sim/config`` (sets become sorted lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            if f.name == "webhook_transport":
                continue
            value = getattr(self, f.name)
            if isinstance(value, set):
                value = sorted(value)
            elif isinstance(value, tuple):
                value = list(value)
            out[f.name] = value
        return out

    def merge(self, changes: dict[str, Any]) -> list[str]:
        """Apply JSON changes in place, coercing lists to the field's type.

        Returns the names that were not fields (the caller reports them), so a typo in
        a test's config change fails loudly instead of silently doing nothing. A value
        that ``check`` refuses raises ValueError and leaves the config unchanged.
        """
        names = {f.name: f for f in dataclasses.fields(self)}
        unknown = sorted(k for k in changes if k not in names or k == "webhook_transport")
        if unknown:
            return unknown
        before = {key: getattr(self, key) for key in changes}
        try:
            for key, value in changes.items():
                setattr(self, key, self._coerced(key, value))
            self.check()
        except ValueError:
            for key, value in before.items():
                setattr(self, key, value)
            raise
        return []

    def _coerced(self, key: str, value: Any) -> Any:
        current = getattr(self, key)
        if value is not None and (isinstance(current, set) or key.endswith("_keys")):
            return set(value)
        if isinstance(current, tuple):
            return tuple(float(v) for v in value)
        if isinstance(current, float) and isinstance(value, int):
            return float(value)
        if key.endswith("_key_credits"):
            return _balances(key, value)
        return value


def _balances(name: str, value: Any) -> dict[str, float]:
    """A ``*_key_credits`` value from JSON: an object of key -> number (ValueError)."""
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and k and isinstance(v, int | float) and not isinstance(v, bool)
        for k, v in value.items()
    ):
        raise ValueError(f"{name}: expected an object of API key -> credits")
    return {k: float(v) for k, v in value.items()}
