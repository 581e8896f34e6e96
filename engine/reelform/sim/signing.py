"""Signed result URLs, as the providers' storage hands them out (S3 presigned URLs).

With ``signed_url_seconds`` set, every finished job's file URL carries
``X-Amz-Date``, ``X-Amz-Expires`` and ``X-Amz-Signature`` in its query string, and
the file routes refuse a URL whose signature is missing, wrong or expired (403 with
an S3 error document). A client must therefore never keep such a URL for later: it
asks for the job's status again, which signs a fresh one.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode, urlsplit

from starlette.requests import Request

from reelform.sim.core import Simulator

#: What the signature is keyed with; the simulator's own, never a client's.
SIGNING_KEY = b"reelform-sim-storage-signing-key"


def _signature(path: str, date: str, expires: str) -> str:
    message = f"{path}\n{date}\n{expires}".encode()
    return hmac.new(SIGNING_KEY, message, hashlib.sha256).hexdigest()


def signed(sim: Simulator, url: str) -> str:
    """``url`` signed for ``signed_url_seconds`` provider seconds from now, or as it is."""
    seconds = sim.config.signed_url_seconds
    if seconds <= 0:
        return url
    date = f"{time.time():.3f}"
    expires = f"{seconds:g}"
    query = urlencode(
        {
            "X-Amz-Date": date,
            "X-Amz-Expires": expires,
            "X-Amz-Signature": _signature(urlsplit(url).path, date, expires),
        }
    )
    return f"{url}?{query}"


def refusal(sim: Simulator, request: Request) -> str | None:
    """Why a file request's signature is refused, or None when it is good (or signing
    is off)."""
    if sim.config.signed_url_seconds <= 0:
        return None
    params = request.query_params
    date, expires = params.get("X-Amz-Date", ""), params.get("X-Amz-Expires", "")
    given = params.get("X-Amz-Signature", "")
    if not given or not hmac.compare_digest(given, _signature(request.url.path, date, expires)):
        return "SignatureDoesNotMatch"
    try:
        expired = time.time() > float(date) + sim.config.scaled(float(expires))
    except ValueError:
        return "SignatureDoesNotMatch"
    return "AccessDenied" if expired else None
