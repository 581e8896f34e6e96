"""Test-control endpoints under ``/_sim``, for tests that run the simulator elsewhere.

* ``GET /_sim/health`` -> ``{"ok": true}``
* ``GET /_sim/requests`` -> the request log; filters ``provider``, ``method``,
  ``path`` (exact), ``path_prefix``, ``since`` (index into the log, for "what happened
  after step N"); each record also carries its ``index``.
* ``GET /_sim/config`` / ``POST /_sim/config`` (JSON merged into the config; unknown
  keys answer 400 and change nothing)
* ``POST /_sim/reset`` (forget everything; the config stays)
* ``GET /_sim/webhooks`` -> every delivery attempt (url, attempt, outcome)
* ``GET /_sim/credits`` -> the remaining balances: the shared ones (``jogg``,
  ``mirako``) and each key's own (``keys``); ``POST /_sim/credits``
  ``{"provider", "key"?, "set" | "add"}`` sets or tops one up
* ``GET /_sim/made`` -> the provider's ledger of paid things actually made (``core.Made``:
  kind, id, cost, the index of the request that made it, name, input sha256s); filters
  ``kind`` and ``ref`` (a name fragment such as ``[rf-...]`` or an input sha256)
* ``GET /_sim/counters`` -> ``api_reads`` (provider API GETs since start or reset: the
  clock of the unauthorized window) and ``made`` (entries in the ledger)
"""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from reelform.sim.core import Simulator


def _sim(request: Request) -> Simulator:
    sim: Simulator = request.app.state.sim
    return sim


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def requests_log(request: Request) -> Response:
    sim = _sim(request)
    query = request.query_params
    since = int(query.get("since", "0"))
    out: list[dict[str, Any]] = []
    for index, record in enumerate(sim.requests[since:], start=since):
        if query.get("provider") and record.provider != query["provider"]:
            continue
        if query.get("method") and record.method != query["method"].upper():
            continue
        if query.get("path") and record.path != query["path"]:
            continue
        if query.get("path_prefix") and not record.path.startswith(query["path_prefix"]):
            continue
        out.append({"index": index, **record.to_json()})
    return JSONResponse(out)


async def config(request: Request) -> Response:
    sim = _sim(request)
    if request.method == "POST":
        try:
            changes = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        if not isinstance(changes, dict):
            return JSONResponse({"error": "body must be a JSON object"}, status_code=400)
        try:
            unknown = sim.config.merge(changes)
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        if unknown:
            return JSONResponse(
                {"error": f"unknown config keys: {', '.join(unknown)}"}, status_code=400
            )
        for provider in ("jogg", "mirako"):
            if f"{provider}_credits" in changes:
                sim.set_balance(provider, None, getattr(sim.config, f"{provider}_credits"))
            for key, balance in changes.get(f"{provider}_key_credits", {}).items():
                sim.set_balance(provider, key, float(balance))
    return JSONResponse(sim.config.to_json())


async def reset(request: Request) -> Response:
    _sim(request).reset()
    return JSONResponse({"ok": True})


async def webhook_log(request: Request) -> Response:
    return JSONResponse(_sim(request).webhook_log)


async def credits(request: Request) -> Response:
    """The balances; a POST sets or tops one up first (a refill between two applies):
    ``{"provider": "jogg"|"mirako", "key": KEY (optional: the shared balance),
    "set": N}`` or ``{..., "add": N}``."""
    sim = _sim(request)
    if request.method == "POST":
        try:
            change = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            change = None
        error = _credit_change_error(change)
        if error is not None:
            return JSONResponse({"error": error}, status_code=400)
        provider, key = change["provider"], change.get("key")
        if "add" in change:  # a key's balance as it stands (its own, or the shared one)
            now = sim.balance(provider, key) if key is not None else sim.shared_balance(provider)
            amount = now + change["add"]
        else:
            amount = change["set"]
        sim.set_balance(provider, key, float(amount))
    return JSONResponse(sim.credits_json())


def _credit_change_error(change: Any) -> str | None:
    if not isinstance(change, dict):
        return "body must be a JSON object"
    if change.get("provider") not in ("jogg", "mirako"):
        return "provider: jogg or mirako"
    if "key" in change and (not isinstance(change["key"], str) or not change["key"]):
        return "key: a non-empty API key (leave it out for the shared balance)"
    given = [name for name in ("set", "add") if name in change]
    if len(given) != 1:
        return "give exactly one of set and add"
    value = change[given[0]]
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"{given[0]}: a number of credits"
    unknown = sorted(set(change) - {"provider", "key", "set", "add"})
    if unknown:
        return f"unknown fields: {', '.join(unknown)}"
    return None


async def made(request: Request) -> Response:
    sim = _sim(request)
    ref, kind = request.query_params.get("ref"), request.query_params.get("kind")
    entries = sim.made_for(ref, kind) if ref else sim.made
    return JSONResponse([m.to_json() for m in entries if kind is None or m.kind == kind])


async def counters(request: Request) -> Response:
    sim = _sim(request)
    return JSONResponse({"api_reads": sim.api_reads, "made": len(sim.made)})


CONTROL_ROUTES = [
    Route("/health", health, methods=["GET"]),
    Route("/requests", requests_log, methods=["GET"]),
    Route("/config", config, methods=["GET", "POST"]),
    Route("/reset", reset, methods=["POST"]),
    Route("/webhooks", webhook_log, methods=["GET"]),
    Route("/credits", credits, methods=["GET", "POST"]),
    Route("/made", made, methods=["GET"]),
    Route("/counters", counters, methods=["GET"]),
]
