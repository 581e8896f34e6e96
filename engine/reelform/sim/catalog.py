"""The simulated catalogs: JoggAI avatars and voices, Mirako voice profiles.

Deterministic and small, but covering every documented filter value, and containing
the ids the documentation's examples use (avatar 81 and 127, voice
``en-US-ChristopherNeural``) so examples copied from the docs work unchanged.
"""

from __future__ import annotations

import itertools
from typing import Any

STYLES = ("professional", "social")
GENDERS = ("female", "male")
AGES = ("adult", "senior", "young_adult")
SCENES = ("lifestyle", "outdoors", "business", "studio", "health_fitness", "education", "news")
ETHNICITIES = (
    "european",
    "african",
    "south_asian",
    "east_asian",
    "middle_eastern",
    "south_american",
    "north_american",
)
RES = "https://res.jogg.ai/sim"


def _public_avatars() -> list[dict[str, Any]]:
    avatars = []
    combos = itertools.product(range(3), STYLES, GENDERS, AGES)
    for n, (aspect, style, gender, age) in enumerate(combos):
        avatar_id = 81 if n == 0 else 127 if n == 1 else 200 + n
        avatars.append(
            {
                "id": avatar_id,
                "name": f"{gender.title()} {style} {n}",
                "video_url": f"{RES}/avatars/{avatar_id}.mp4",
                "cover_url": f"{RES}/avatars/{avatar_id}.jpg",
                "aspect_ratio": aspect,
                "style": style,
                "gender": gender,
                "age": age,
                # Filterable but not part of the documented item shape.
                "_scene": SCENES[n % len(SCENES)],
                "_ethnicity": ETHNICITIES[n % len(ETHNICITIES)],
            }
        )
    return avatars


PUBLIC_AVATARS = _public_avatars()
PUBLIC_AVATAR_IDS = {a["id"] for a in PUBLIC_AVATARS}

CUSTOM_AVATARS: list[dict[str, Any]] = [
    {
        "id": 9001,
        "name": "My Instant Avatar",
        "video_url": f"{RES}/custom/9001.mp4",
        "cover_url": f"{RES}/custom/9001.jpg",
        "api_only": True,
        "avatar_status": "completed",
        "fail_msg": "",
        "avatar_url": f"{RES}/custom/9001.mp4",
    },
    {
        "id": 9002,
        "name": "Still Training",
        "video_url": f"{RES}/custom/9002.mp4",
        "cover_url": f"{RES}/custom/9002.jpg",
        "api_only": False,
        "avatar_status": "processing",
        "fail_msg": "",
        "avatar_url": f"{RES}/custom/9002.mp4",
    },
]
USABLE_CUSTOM_AVATAR_IDS = {a["id"] for a in CUSTOM_AVATARS if a["avatar_status"] == "completed"}

_VOICE_AGES = ("young", "middle_aged", "old")
_LANGS = (
    ("english", "en-US", "american"),
    ("german", "de-DE", "german"),
    ("spanish", "es-ES", "spanish"),
    ("french", "fr-FR", "french"),
)
_NAMES = ("Christopher", "Jenny", "Guy", "Aria", "Davis", "Emma")


def _voices() -> list[dict[str, Any]]:
    voices = []
    for n, ((language, locale, accent), name) in enumerate(itertools.product(_LANGS, _NAMES)):
        voices.append(
            {
                "name": name,
                "voice_id": f"{locale}-{name}Neural",
                "audio_url": f"{RES}/voices/{locale}-{name}.mp3",
                "language": language,
                "gender": "male" if name in ("Christopher", "Guy", "Davis") else "female",
                "age": _VOICE_AGES[n % 3],
                "accent": accent,
                "use_case": ("narrative_story", "news", "conversational")[n % 3],
            }
        )
    return voices


VOICES = _voices()
CUSTOM_VOICES: list[dict[str, Any]] = [
    {
        "name": "My Custom Voice",
        "voice_id": "custom_123",
        "audio_url": f"{RES}/voices/custom_123.mp3",
        "language": "english",
    },
]
VOICE_IDS = {v["voice_id"] for v in VOICES} | {v["voice_id"] for v in CUSTOM_VOICES}

MIRAKO_PREMADE: list[dict[str, Any]] = [
    {
        "id": "9e1a4c2b-0d3f-4a6b-8c7d-1e2f3a4b5c6d",
        "name": "Mira Korner",
        "description": "A friendly and professional voice.",
        "languages": ["en", "yue"],
        "sample_clip": "https://mirako.co/sim/samples/mira.mp3",
        "status": "READY",
        "is_premade": True,
        "created_at": "2025-01-01T00:00:00Z",
    },
    {
        "id": "5b6c7d8e-9f0a-4b1c-8d2e-3f4a5b6c7d8e",
        "name": "Kai Lam",
        "description": "A calm narrator.",
        "languages": ["en"],
        "sample_clip": "https://mirako.co/sim/samples/kai.mp3",
        "status": "READY",
        "is_premade": True,
        "created_at": "2025-01-01T00:00:00Z",
    },
]
MIRAKO_CUSTOM: list[dict[str, Any]] = [
    {
        "id": "c0ffee00-1111-4222-8333-444455556666",
        "name": "My Cloned Voice",
        "description": "Cloned from samples.",
        "languages": ["en"],
        "sample_clip": "https://mirako.co/sim/samples/mine.mp3",
        "status": "READY",
        "is_premade": False,
        "created_at": "2025-06-01T00:00:00Z",
        "user_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
    },
]
MIRAKO_VOICE_IDS = {v["id"] for v in MIRAKO_PREMADE + MIRAKO_CUSTOM}
#: The account's own avatars (`GET /v1/avatar/list`, mirako.yaml's AvatarResponse).
MIRAKO_AVATARS: list[dict[str, Any]] = [
    {
        "id": "a1b2c3d4-e5f6-7890-1234-567890abcdef",
        "user_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        "name": "Studio portrait",
        "created_at": "2025-06-01T00:00:00Z",
        "status": "READY",
        "themes": [
            {
                "name": "Default",
                "key_image": "https://mirako.co/sim/avatars/studio.png",
                "live_video": "https://mirako.co/sim/avatars/studio.mp4",
            }
        ],
    },
    {
        "id": "b2c3d4e5-f6a7-8901-2345-67890abcdef1",
        "user_id": "f47ac10b-58cc-4372-a567-0e02b2c3d479",
        "name": "Still building",
        "created_at": "2025-06-02T00:00:00Z",
        "status": "BUILDING",
        "themes": None,
    },
]


def public(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the simulator's private filter fields (those starting with ``_``)."""
    return [{k: v for k, v in item.items() if not k.startswith("_")} for item in items]


def page(items: list[Any], page_number: int, page_size: int) -> tuple[list[Any], bool]:
    """One page (1-based) and whether more follow."""
    start = (page_number - 1) * page_size
    chunk = items[start : start + page_size]
    return chunk, start + page_size < len(items)
