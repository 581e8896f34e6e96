"""Moves: a video to create that is a completed orphan's render under a new name.

Renaming a video's ``name:`` template (``welcome-{{ row.id }}`` to
``hello-{{ row.id }}``) makes every video a create and every old entry an orphan:
the same pictures, paid again. The fingerprint says what a render is, whatever
its name, so a create whose render identity equals an orphan's completed entry is
a *move*: apply re-keys the entry and renames its output file, and nothing is
rendered (docs/design.md, "Moves").

Pure: names, providers, fingerprints and lock records in, pairs out. The rules:

* only a ``completed`` entry moves (a job still rendering, failed or unknown
  stays where it is: it would be resumed, retried or decided under its own name);
  its output file need not be intact (a crash between the rename and the record
  leaves it at the new name; a missing file is downloaded again, never rendered);
* the provider must be the same, and the render identity equal: the entry's
  fingerprint, or for an entry written before labels existed (its fingerprint
  hashed the labels too) the fingerprint of its inputs without the labels;
* one orphan moves to at most one create, and the pairing is deterministic: the
  creates in name order each take the first unclaimed orphan in name order.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import NamedTuple

from reelform.plan.fingerprint import fingerprint_of, legacy_fingerprint
from reelform.state.records import Status, VideoRecord


class Wanted(NamedTuple):
    """A video to create: what a move needs of it."""

    name: str
    provider: str
    fingerprint: str


class Move(NamedTuple):
    source: str  # the orphan's name: its lock entry and output file
    target: str  # the create's name


def find_moves(
    creates: Sequence[Wanted],
    orphans: Iterable[str],
    videos: Mapping[str, VideoRecord],
    label_fields: Callable[[str], tuple[str, ...]],
) -> list[Move]:
    """The moves among ``creates`` and ``orphans`` (names of entries in ``videos``).

    ``label_fields``: a provider's label fields (``ProviderTraits.label_fields``),
    asked only for an orphan whose provider some create uses."""
    if not creates:
        return []
    wanted = {(c.provider, c.fingerprint) for c in creates}
    providers = {c.provider for c in creates}
    # (provider, render identity) -> orphans with it, in name order.
    available: dict[tuple[str, str], list[str]] = {}
    for name in sorted(orphans):
        entry = videos.get(name)
        if entry is None or entry.status is not Status.COMPLETED:
            continue
        provider = entry.provider
        if provider is None or provider not in providers or entry.fingerprint is None:
            continue
        if (provider, entry.fingerprint) in wanted:  # the common case: no digest
            available.setdefault((provider, entry.fingerprint), []).append(name)
            continue
        for identity in identities(entry, label_fields(provider))[1:]:  # a legacy one
            available.setdefault((provider, identity), []).append(name)
    if not available:
        return []
    claimed: set[str] = set()
    moves = []
    for create in sorted(creates, key=lambda c: c.name):
        candidates = available.get((create.provider, create.fingerprint), ())
        source = next((name for name in candidates if name not in claimed), None)
        if source is not None:
            claimed.add(source)
            moves.append(Move(source, create.name))
    return moves


def identities(entry: VideoRecord, label_fields: tuple[str, ...]) -> tuple[str, ...]:
    """The render identities a completed entry may have: its fingerprint, and where
    that is a legacy one (labels hashed too), the fingerprint without the labels."""
    assert entry.fingerprint is not None
    inputs = entry.inputs
    if (
        label_fields
        and inputs
        and any(name in inputs for name in label_fields)
        and legacy_fingerprint(inputs) == entry.fingerprint
    ):
        return (entry.fingerprint, fingerprint_of(inputs, label_fields))
    return (entry.fingerprint,)
