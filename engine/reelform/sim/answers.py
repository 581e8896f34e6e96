"""Response shapes: JoggAI's ``{code, msg, data}`` envelope and Mirako's RFC 7807 problems.

Kept apart from the route modules so the fault layer answers in exactly the shape the
routes use.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.responses import JSONResponse, Response

from reelform.sim.core import Simulator

JOGG_MESSAGES = {
    0: "Success",
    10104: "Record not found",
    10105: "Invalid API key",
    18020: "Insufficient credit",
    18025: "No permission to call APIs",
    40000: "Parameter error",
    50000: "System error",
}

# HTTP status per code when SimConfig.jogg_error_status == "mapped".
_MAPPED_STATUS = {10104: 404, 10105: 401, 18020: 402, 18025: 403, 40000: 400, 50000: 500}


def jogg_ok(sim: Simulator, data: Any, *, v1: bool = False, msg: str = "Success") -> Response:
    body: dict[str, Any] = {"code": 0, "msg": msg, "data": data}
    if v1:
        body = {"rid": sim.hex_id(), **body}
    return JSONResponse(body)


def jogg_error(
    sim: Simulator,
    code: int,
    msg: str | None = None,
    *,
    v1: bool = False,
    headers: dict[str, str] | None = None,
) -> Response:
    """An error envelope; HTTP 401 for a bad key (as observed), else per config."""
    body: dict[str, Any] = {"code": code, "msg": msg or JOGG_MESSAGES[code], "data": None}
    if v1:
        body = {"rid": sim.hex_id(), **body}
    if code == 10105:
        status = 401
    elif sim.config.jogg_error_status == "mapped":
        status = _MAPPED_STATUS[code]
    else:
        status = 200
    return JSONResponse(body, status_code=status, headers=headers)


def param_error(
    sim: Simulator, field: str, problem: str = "is required", *, v1: bool = False
) -> Response:
    """40000 naming the field, e.g. "Parameter error: avatar_id is required"."""
    return jogg_error(sim, 40000, f"Parameter error: {field} {problem}", v1=v1)


PROBLEM_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def problem(
    status: int,
    detail: str,
    *,
    instance: str = "",
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> Response:
    """A Mirako RFC 7807 problem document (``application/problem+json``)."""
    body: dict[str, Any] = {
        "type": "about:blank",
        "title": PROBLEM_TITLES[status],
        "status": status,
        "detail": detail,
    }
    # A URN, so the field is a valid absolute URI as ErrorModel's format demands.
    body["instance"] = instance or f"urn:uuid:{uuid.uuid4()}"
    if errors is not None:
        body["errors"] = errors
    return JSONResponse(
        body, status_code=status, headers=headers, media_type="application/problem+json"
    )


def mirako_unauthorized() -> Response:
    """Mirako's answer to a missing, unknown or rotated bearer token."""
    return problem(
        401, "missing or invalid API token", headers={"WWW-Authenticate": 'Bearer realm="mirako"'}
    )
