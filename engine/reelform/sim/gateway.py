"""The answers the fault layer gives instead of the route's, in the shapes seen in the wild.

Two families. Provider-shaped refusals (JoggAI's envelope or plain text, Mirako's RFC
7807 problem) come from the provider's own servers. Gateway-shaped pages (HTML 502,
504, a WAF's 403) come from whatever sits in front of them and carry no envelope and no
problem document: a client must not parse them as the provider's word, and for a
create a 502 or 504 proves nothing about whether the job was made.
"""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from reelform.sim.answers import jogg_error, mirako_unauthorized, problem
from reelform.sim.core import RequestRecord, Simulator

_PAGE = (
    "<html>\r\n<head><title>{title}</title></head>\r\n<body>\r\n"
    "<center><h1>{title}</h1></center>\r\n{extra}<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


def html_page(status: int, title: str, extra: str = "") -> Response:
    """An nginx-style error page: text/html, no envelope, no problem document."""
    body = _PAGE.format(title=f"{status} {title}", extra=extra)
    return Response(body, status_code=status, media_type="text/html")


def bad_gateway() -> Response:
    return html_page(502, "Bad Gateway")


def gateway_timeout() -> Response:
    return html_page(504, "Gateway Timeout")


def waf_forbidden() -> Response:
    """What a web application firewall answers when a rule matches the request."""
    return html_page(
        403,
        "Forbidden",
        "<center>Request blocked by the web application firewall.</center>\r\n",
    )


def _is_storage(record: RequestRecord) -> bool:
    return record.path.startswith("/jogg/_upload/")


def server_error(status: int, record: RequestRecord) -> Response:
    """A 5xx as gateways and providers give them: sometimes with a body, often not."""
    provider = "storage" if _is_storage(record) else record.provider
    if status == 500 and provider == "jogg":
        return JSONResponse({"code": 50000, "msg": "System error", "data": None}, status_code=500)
    if status == 500 and provider == "mirako":
        return problem(500, "internal error (simulated)")
    if status == 502:
        return bad_gateway()
    return Response(b"", status_code=status)


def system_error(sim: Simulator, record: RequestRecord) -> Response:
    if record.provider == "mirako":
        return problem(500, "internal error (simulated)")
    if _is_storage(record):
        return Response(b"", status_code=500)
    return jogg_error(sim, 50000, v1=record.path.startswith("/jogg/v1/"))


def too_many(sim: Simulator, record: RequestRecord) -> Response:
    headers = {"Retry-After": str(sim.config.retry_after_seconds)}
    if record.provider == "mirako":
        return problem(429, "rate limit exceeded (simulated burst)", headers=headers)
    return Response("Too Many Requests", status_code=429, headers=headers, media_type="text/plain")


def unavailable(sim: Simulator, record: RequestRecord) -> Response:
    """503 with Retry-After: the service shed the request before doing anything."""
    headers = {"Retry-After": str(sim.config.retry_after_seconds)}
    if record.provider == "mirako":
        return problem(503, "service temporarily unavailable (simulated)", headers=headers)
    return Response(
        "Service Unavailable", status_code=503, headers=headers, media_type="text/plain"
    )


def unauthorized(sim: Simulator, record: RequestRecord) -> Response:
    """What a key that was rotated away gets: exactly the routes' own 401 answers."""
    if record.provider == "mirako":
        return mirako_unauthorized()
    return jogg_error(sim, 10105, v1=record.path.startswith("/jogg/v1/"))
