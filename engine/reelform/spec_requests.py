"""A spec's requests, made when first needed; and their keys on two cores.

A no-op `plan` compares each video's fingerprint and label (its key, ``keys_of``)
with the state's summary, and reads nothing more of its request. For 100,000 videos
making the requests takes a third of a second of the plan's one and a half. So
``keys`` makes the first half of the requests here while a forked child
(``forked.py``) makes the second half and sends back only their keys: a few
megabytes, where the requests themselves would cost more to send than to make.

The first half is kept: when the plan is not a no-op after all, ``all`` makes only
the second half again, and a first half that already disagrees with the state
(``accept``) ends the work at once, the child killed. Both halves are
``plan.fingerprint.requests_for``'s, so the requests and keys are the ones a single
process makes (tests/plan/test_spec_requests.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from reelform import heap
from reelform.forked import Forked, can_fork
from reelform.plan.fingerprint import Request, requests_for
from reelform.plan.unchanged import Key, keys_of
from reelform.speclang.assets import FileFacts
from reelform.speclang.expand import LoadedSpec

#: Below this many videos, one process makes the keys: a fork and a pipe cost more
#: than half of their requests.
TWO_CORES_MIN_VIDEOS = 20_000
#: How many of the first half's keys are made before ``accept`` looks at them.
CHECK_EVERY = 2_000


class SpecRequests:
    """The requests of a prepared spec's videos, made once, when first asked for."""

    def __init__(self, spec: LoadedSpec, facts: Mapping[str, FileFacts | None]) -> None:
        self.spec = spec
        self.facts = facts
        self._all: list[Request] | None = None
        self._head: list[Request] = []  # the first videos' requests, made by ``keys``
        self._keys: list[Key] | None = None

    def all(self) -> list[Request]:
        """Every video's request, in the spec's order."""
        if self._all is None:
            with heap.paused():
                tail = self.spec.videos[len(self._head) :]
                self._all = [*self._head, *requests_for(self.spec, self.facts, tail)]
            self._head = []
        return self._all

    def keys(self, accept: Callable[[Sequence[Key]], bool] | None = None) -> list[Key] | None:
        """Every video's key, in the spec's order: from the requests when they are
        made, else on two cores for a large spec. ``accept``: the caller's check of
        the keys, which it makes of what it gets; when the first half made here fails
        it, the second is not waited for, and None says so."""
        if self._keys is None:
            if self._all is not None:
                self._keys = keys_of(self._all)
            else:
                with heap.paused():
                    self._keys = self._keys_on_two_cores(accept)
        return self._keys

    def _keys_on_two_cores(
        self, accept: Callable[[Sequence[Key]], bool] | None
    ) -> list[Key] | None:
        videos = self.spec.videos
        # (Some of the first half made already: an earlier call that ``accept`` ended.)
        if len(videos) < TWO_CORES_MIN_VIDEOS or self._head or not can_fork():
            return keys_of(self.all())
        half = len(videos) // 2
        tail = videos[half:]
        child = Forked(lambda: keys_of(requests_for(self.spec, self.facts, tail)))
        keys: list[Key] = []
        # The first half in steps, each checked as it is made: a spec whose template
        # changed stops after the first step, not after half of its videos.
        for start in range(0, half, CHECK_EVERY):
            made = requests_for(
                self.spec, self.facts, videos[start : min(start + CHECK_EVERY, half)]
            )
            self._head += made
            some = keys_of(made)
            if accept is not None and not accept(some):
                child.cancel()
                return None
            keys += some
        tail_keys = child.result()
        if tail_keys is None:  # the child failed: this process makes the rest
            return keys_of(self.all())
        return keys + tail_keys
