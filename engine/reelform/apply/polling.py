"""When to ask a provider whether a render is done.

Polls come at a geometric pace: the first a little before the provider's shortest
typical render, then every ``growth`` x the time already waited (never more often
than the provider's minimum interval). A render that finishes at time T is then
seen by T x (1 + growth) at the latest: growth 0.2 keeps "within 25%" true with
room for the request's own latency and the download after it (0.25 measured 25.1%
at worst). A JoggAI render of 2 to 5 minutes costs 2 to 7 status requests (about 5
on average) instead of one every 5 s.
A job found again after a restart is polled at once: it may be long done.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class PollPolicy:
    growth: float = 0.2
    # Provider seconds; multiplied by the run's time scale (simulators run faster).
    first: dict[str, float] = field(
        default_factory=lambda: {
            "jogg": 110.0,  # docs/providers.md: renders take 2 to 5 minutes
            "mirako": 15.0,  # 15 s to 2 min
            "local": 0.5,
        }
    )
    minimum: dict[str, float] = field(
        default_factory=lambda: {
            "jogg": 5.0,  # JoggAI discourages polling more often than every 5 s
            "mirako": 2.0,
            "local": 0.1,
        }
    )
    #: Status reads of one job that may fail in a row before this apply stops waiting
    #: for it (the job stays ``submitted``; the next apply polls it again). Eight reads
    #: at the growing pace span minutes: a job "not found" just after its create, a
    #: gateway's bad spell. A key rotated mid-batch fails them all.
    error_tolerance: int = 8
    #: With webhooks, a slow poll still catches lost deliveries.
    safety: float = 600.0
    time_scale: float = 1.0

    def first_delay(self, provider: str, resumed: bool) -> float:
        if resumed:
            return 0.0
        return self.first.get(provider, 30.0) * self.time_scale

    def next_delay(self, provider: str, waited: float, webhooks: bool) -> float:
        """Seconds to the next poll, ``waited`` seconds after the submit."""
        if webhooks:
            return self.safety * self.time_scale
        floor = self.minimum.get(provider, 5.0) * self.time_scale
        return max(floor, self.growth * waited)
