"""Keeping API keys out of everything reelform prints or writes.

Keys come only from the environment or a ``.env`` file. Every message that leaves
the process (errors, logs, plans, lockfiles) passes ``redact`` as a last line of
defence; the first line is never putting a key into a message at all. ``redact``
knows the keys of ``os.environ`` and those ``environment()`` read from a ``.env``
file (which never enter ``os.environ``), so a key given either way is redacted
from every message, tracebacks included.
"""

from __future__ import annotations

import os
import re
import unicodedata
from collections.abc import Mapping

from reelform.errors import ConfigError
from reelform.registry import loaded_secret_variables
from reelform.traits import BUILTIN

#: The built-in providers' secrets; ``secret_variables()`` adds the plugins'.
SECRET_VARIABLES = tuple(v for traits in BUILTIN.values() for v in traits.secret_variables)

#: The PostgreSQL state backend's connection URL (``state/pg``): a secret like a key.
STATE_URL_VARIABLE = "REELFORM_STATE_URL"

#: Quotes a key picks up when copied from a document, a chat or a shell line
#: (the typographic ones: what word processors turn straight quotes into).
QUOTES = frozenset("\"'\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f")


#: Secret values read from ``.env`` files by ``environment()`` in this process: the
#: run used them, so every message redacts them, whatever environment it is given.
_from_files: set[str] = set()


def secret_values(env: Mapping[str, str] | None = None) -> list[str]:
    """The secrets to redact: those in ``env`` (default ``os.environ``) and those
    read from ``.env`` files, longest first (a key containing another goes first)."""
    env = os.environ if env is None else env
    # Stripped, as the key is used: a value with a trailing newline is sent (and
    # echoed back by a server) without it. Very short values would redact ordinary
    # words; real keys are long.
    values = {v for k in secret_variables() if len(v := env.get(k, "").strip()) >= 6}
    values |= {v for v in _from_files if len(v) >= 6}
    # The state database's URL, and its password on its own (a driver's message may
    # quote either); read from os.environ too, the only place it may come from.
    for url in {env.get(STATE_URL_VARIABLE, ""), os.environ.get(STATE_URL_VARIABLE, "")}:
        values |= {v for v in url_secrets(url.strip()) if len(v) >= 6}
    return sorted(values, key=len)[::-1]


def url_secrets(url: str) -> list[str]:
    """What of a database URL must never be shown: all of it, and its password (in
    the URL's userinfo or a ``password=`` parameter), raw and percent-decoded."""
    from urllib.parse import parse_qs, unquote, urlsplit

    if not url:
        return []
    found = [url]
    try:
        parts = urlsplit(url)
        userinfo = parts.netloc.rpartition("@")[0]
        if ":" in userinfo:
            raw = userinfo.split(":", 1)[1]
            found += [raw, unquote(raw)]
        for value in parse_qs(parts.query).get("password", []):
            found.append(value)
    except ValueError:
        pass
    for match in _KEYWORD_PASSWORD.finditer(url):  # a "host=... password=..." conninfo
        found.append(match.group(1).strip("'"))
    return [v for v in found if v]


_KEYWORD_PASSWORD = re.compile(r"password\s*=\s*('[^']*'|\S+)")


def secret_variables() -> tuple[str, ...]:
    """Every provider's secret variables, the plugins' included (when they load)."""
    return loaded_secret_variables()


def key_problem(key: str) -> str | None:
    """What makes ``key`` (already stripped) unusable in an HTTP header, or None.

    httpx encodes header values as ASCII: a curly quote or a no-break space fails
    with a UnicodeEncodeError deep inside a request, a newline with a protocol
    error. Named here, by character and code point, never by showing the key.
    """
    for char in key:
        if char in QUOTES:
            kind = "quote" if char in "\"'" else "curly quote"
            return f"contains a {kind} ({_codepoint(char)}); paste the key without quotes"
        if char.isspace():
            return (
                f"contains whitespace ({_codepoint(char)}) inside the key; paste the key "
                "alone, on one line"
            )
        if not (char.isascii() and char.isprintable()):
            what = "a control character" if char.isascii() else "a non-ASCII character"
            return f"contains {what} ({_codepoint(char)}); API keys are plain ASCII"
    return None


def _codepoint(char: str) -> str:
    name = unicodedata.name(char, "")
    return f"U+{ord(char):04X}" + (f" {name}" if name else "")


def checked_key(env: Mapping[str, str], variable: str) -> str | None:
    """The key in ``variable``, surrounding whitespace stripped; None when unset or
    blank; ConfigError naming the variable when it cannot be a key."""
    key = (env.get(variable) or "").strip()
    if not key:
        return None
    problem = key_problem(key)
    if problem is not None:
        raise ConfigError(f"{variable} {problem}")
    return key


def redact(text: str, env: Mapping[str, str] | None = None) -> str:
    for value in secret_values(env):
        text = text.replace(value, "***")
    return text


def environment() -> dict[str, str]:
    """The process environment over ``./.env`` (docs/design.md, "Secrets").

    The file is read, not loaded: ``os.environ`` stays as it was.
    """
    from dotenv import dotenv_values

    from_file = {k: v for k, v in dotenv_values(".env").items() if v is not None}
    # Remembered even where os.environ overrides them: a key in the file is still a
    # key, and redacting one that was not used costs nothing.
    secrets = secret_variables()
    _from_files.update(v.strip() for k, v in from_file.items() if k in secrets)
    return {**from_file, **os.environ}
