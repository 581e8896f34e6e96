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

from dataclasses import dataclass

from reelform.registry import provider_traits


@dataclass(frozen=True)
class PollPolicy:
    growth: float = 0.2
    # Each provider's first and minimum delays are its traits' (``poll_first``,
    # ``poll_minimum``), in provider seconds: multiplied by the run's time scale
    # (simulators run faster).
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
        return provider_traits(provider).poll_first * self.time_scale

    def next_delay(self, provider: str, waited: float, webhooks: bool) -> float:
        """Seconds to the next poll, ``waited`` seconds after the submit."""
        if webhooks:
            return self.safety * self.time_scale
        floor = provider_traits(provider).poll_minimum * self.time_scale
        return max(floor, self.growth * waited)
