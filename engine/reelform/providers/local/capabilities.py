"""What the local renderer can draw and say: the public face watch's previews use.

A preview renders a spec written for JoggAI or Mirako with the local provider, so
it must map provider avatars and voices onto local ones; it asks here rather than
reaching into the renderer's modules.
"""

from __future__ import annotations

from collections.abc import Collection


def avatar_count() -> int:
    """How many drawn avatars there are (local avatar ids are 1..N)."""
    from reelform.providers.local.avatars import CATALOG

    return len(CATALOG)


def speakable_voices() -> frozenset[str]:
    """The eSpeak NG voice names on this machine, lower-case."""
    from reelform.providers.local.speech import list_espeak_voices

    return frozenset(v.identifier.rsplit("/", 1)[-1].lower() for v in list_espeak_voices())


def can_speak(voice_id: str, voices: Collection[str]) -> bool:
    """Whether ``voice_id`` (an eSpeak name, or a cloud voice id by its language) is
    one of ``voices``, as the renderer would pick it."""
    from reelform.providers.local.speech import voice_candidates

    return any(name.lower() in voices for name in voice_candidates(voice_id))
