"""Keeping API keys out of everything reelform prints or writes.

Keys come only from the environment. Every message that leaves the process
(errors, logs, plans, lockfiles) passes ``redact`` as a last line of defence;
the first line is never putting a key into a message at all.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

SECRET_VARIABLES = ("JOGG_API_KEY", "MIRAKO_API_KEY", "JOGG_WEBHOOK_SECRET")


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    env = os.environ if env is None else env
    # Very short values would redact ordinary words; real keys are long.
    return sorted({v for k in SECRET_VARIABLES if len(v := env.get(k, "")) >= 6}, key=len)[::-1]


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    for value in secret_values(env):
        text = text.replace(value, "***")
    return text


def environment() -> dict[str, str]:
    """The process environment over a ``.env`` file in the current folder (DESIGN.md 7).

    The file is read, not loaded: ``os.environ`` stays as it was.
    """
    from dotenv import dotenv_values

    from_file = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    return {**from_file, **os.environ}
