"""The built-in catalog of drawn avatars: what each one looks like.

Integer ids 1..N, so a spec's ``avatar: {id: 2}`` works as it does for a hosted
provider; ``avatars.py`` turns a look into pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

RGB = tuple[int, int, int]


@dataclass(frozen=True)
class Look:
    id: int
    name: str
    face: str  # oval | round | square
    skin: RGB
    hair: RGB
    hair_style: str  # long | buzz | short | curly | bun
    clothes: RGB
    clothing: str  # blazer | hoodie | shirt | sweater
    background: tuple[RGB, RGB]
    eyes: RGB
    lips: RGB
    glasses: bool = False


CATALOG: tuple[Look, ...] = (
    Look(
        1,
        "Ava",
        "oval",
        (241, 204, 178),
        (92, 58, 36),
        "long",
        (38, 70, 140),
        "blazer",
        ((36, 120, 130), (12, 52, 70)),
        (70, 110, 60),
        (190, 90, 95),
    ),
    Look(
        2,
        "Ben",
        "square",
        (120, 78, 52),
        (24, 20, 18),
        "buzz",
        (46, 120, 70),
        "hoodie",
        ((236, 150, 80), (170, 70, 40)),
        (50, 32, 20),
        (92, 42, 42),
    ),
    Look(
        3,
        "Chen",
        "round",
        (233, 196, 160),
        (20, 20, 24),
        "short",
        (120, 124, 130),
        "shirt",
        ((120, 90, 170), (50, 36, 90)),
        (40, 30, 24),
        (200, 110, 110),
        glasses=True,
    ),
    Look(
        4,
        "Dara",
        "oval",
        (160, 105, 70),
        (40, 26, 20),
        "curly",
        (140, 30, 50),
        "shirt",
        ((250, 210, 90), (210, 150, 40)),
        (60, 36, 20),
        (112, 48, 54),
    ),
    Look(
        5,
        "Eli",
        "square",
        (250, 222, 205),
        (196, 96, 40),
        "bun",
        (30, 40, 80),
        "sweater",
        ((170, 210, 170), (80, 130, 100)),
        (60, 120, 160),
        (210, 120, 120),
    ),
)


def look(avatar_id: int | None) -> Look:
    """The look for a public avatar id; ids wrap around so any integer is valid
    (a spec written for another provider's ids still renders)."""
    index = ((avatar_id or 1) - 1) % len(CATALOG)
    return CATALOG[index]
