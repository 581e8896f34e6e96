"""JoggAI catalog routes, v2 and v1: avatars (public, custom, photo) and voices.

v2 pages with ``page`` (>= 1) and ``page_size`` (1..100, default 10) and names ids
``id``; v1 names them ``avatar_id`` and returns ``total``. Filter values outside the
documented enums answer 40000 naming the parameter.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from reelform.sim import catalog
from reelform.sim.answers import jogg_ok, param_error
from reelform.sim.core import Simulator
from reelform.sim.jogg_common import guard, sim_of

V2_ASPECT = {"portrait": 0, "landscape": 1, "square": 2}
AVATAR_FILTERS = {
    "style": catalog.STYLES,
    "gender": catalog.GENDERS,
    "age": catalog.AGES,
    "scene": catalog.SCENES,
    "ethnicity": catalog.ETHNICITIES,
}
VOICE_AGES = ("young", "middle_aged", "old")


def photo_avatar_items(sim: Simulator, id_key: str) -> list[dict[str, Any]]:
    """Photo avatars made by add_motion; status 0 processing | 1 success | 2 failed."""
    codes = {"queued": 0, "rendering": 0, "completed": 1, "failed": 2}
    return [
        {
            id_key: job.info["avatar_id"],
            "name": job.info["name"],
            "cover_url": job.info["image_url"],
            "status": codes[job.phase()],
            "fail_msg": job.fail_reason,
        }
        for job in sim.jobs.values()
        if job.kind == "motion"
    ]


class BadParam(Exception):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _paging(request: Request) -> tuple[int, int]:
    out = []
    for name, default, high in (("page", 1, None), ("page_size", 10, 100)):
        raw = request.query_params.get(name)
        try:
            value = default if raw is None else int(raw)
        except ValueError:
            raise BadParam(name) from None
        if value < 1 or (high is not None and value > high):
            raise BadParam(name)
        out.append(value)
    return out[0], out[1]


def _filter(
    request: Request,
    items: list[dict[str, Any]],
    allowed: dict[str, tuple[str, ...]],
    field_of: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    for name, values in allowed.items():
        wanted = request.query_params.get(name)
        if wanted is None:
            continue
        if values and wanted not in values:
            raise BadParam(name)
        key = (field_of or {}).get(name, name)
        items = [item for item in items if str(item.get(key)) == wanted]
    return items


async def _answer(request: Request, build: Any, *, v1: bool = False) -> Response:
    sim = sim_of(request)
    if (denied := guard(request, v1=v1)) is not None:
        return denied
    try:
        data = build(request, sim)
    except BadParam as exc:
        return param_error(sim, exc.name, "is invalid", v1=v1)
    return jogg_ok(sim, data, v1=v1)


def _public_avatars(request: Request, v1: bool) -> list[dict[str, Any]]:
    items = catalog.PUBLIC_AVATARS
    aspect = request.query_params.get("aspect_ratio")
    if aspect is not None:
        mapping = {"0": 0, "1": 1, "2": 2} if v1 else V2_ASPECT
        if aspect not in mapping:
            raise BadParam("aspect_ratio")
        items = [a for a in items if a["aspect_ratio"] == mapping[aspect]]
    fields = {"scene": "_scene", "ethnicity": "_ethnicity"}
    return catalog.public(_filter(request, items, AVATAR_FILTERS, fields))


def v2_public(request: Request, sim: Simulator) -> dict[str, Any]:
    number, size = _paging(request)
    items, _ = catalog.page(_public_avatars(request, False), number, size)
    return {"avatars": items}


def v2_custom(request: Request, sim: Simulator) -> dict[str, Any]:
    number, size = _paging(request)
    items = _filter(
        request,
        catalog.CUSTOM_AVATARS,
        {"status": ("processing", "completed", "failed")},
        {"status": "avatar_status"},
    )
    name = request.query_params.get("name")
    if name:
        items = [a for a in items if name.lower() in a["name"].lower()]
    return {"avatars": catalog.page(items, number, size)[0]}


def v2_photo(request: Request, sim: Simulator) -> dict[str, Any]:
    number, size = _paging(request)
    items = photo_avatar_items(sim, "id")
    status = request.query_params.get("status")
    if status is not None:
        codes = {"processing": 0, "completed": 1, "failed": 2}
        if status not in codes:
            raise BadParam("status")
        items = [a for a in items if a["status"] == codes[status]]
    return {"avatars": catalog.page(items, number, size)[0]}


def _voices(request: Request) -> list[dict[str, Any]]:
    return _filter(
        request,
        catalog.VOICES,
        {"gender": catalog.GENDERS, "age": VOICE_AGES, "language": (), "use_case": ()},
    )


def v2_voices(request: Request, sim: Simulator) -> dict[str, Any]:
    number, size = _paging(request)
    items, more = catalog.page(_voices(request), number, size)
    return {"voices": items, "has_more": more}


def v2_custom_voices(request: Request, sim: Simulator) -> dict[str, Any]:
    items = _filter(request, catalog.CUSTOM_VOICES, {"language": ()})
    return {"total": len(items), "voices": items}


def v1_public(request: Request, sim: Simulator) -> dict[str, Any]:
    items = [
        {
            "avatar_id": a["id"],
            "name": a["name"],
            "cover_url": a["cover_url"],
            "aspect_ratio": a["aspect_ratio"],
            "style": a["style"],
            "gender": a["gender"],
            "age": a["age"],
        }
        for a in _public_avatars(request, True)
    ]
    return {"avatars": items, "total": len(items)}


def v1_custom(request: Request, sim: Simulator) -> dict[str, Any]:
    codes = {"processing": 0, "completed": 1, "failed": 2}
    items = [
        {
            "avatar_id": a["id"],
            "name": a["name"],
            "cover_url": a["cover_url"],
            "status": codes[a["avatar_status"]],
            "fail_msg": a["fail_msg"],
        }
        for a in catalog.CUSTOM_AVATARS
    ]
    return {"avatars": items, "total": len(items)}


def v1_photo(request: Request, sim: Simulator) -> dict[str, Any]:
    items = photo_avatar_items(sim, "avatar_id")
    return {"avatars": items, "total": len(items)}


def v1_voices(request: Request, sim: Simulator) -> dict[str, Any]:
    number, size = _paging(request)
    matching = _voices(request)
    items = [
        {
            "name": v["name"],
            "voice_id": v["voice_id"],
            "audition_url": v["audio_url"],
            "language": v["language"],
            "gender": v["gender"],
            "age": v["age"],
        }
        for v in catalog.page(matching, number, size)[0]
    ]
    return {"total": len(matching), "voices": items}


def v1_custom_voices(request: Request, sim: Simulator) -> dict[str, Any]:
    items = _filter(request, catalog.CUSTOM_VOICES, {"language": ()})
    return {"total": len(items), "voices": items}


def _route(path: str, build: Any, v1: bool) -> Route:
    async def endpoint(request: Request) -> Response:
        return await _answer(request, build, v1=v1)

    return Route(path, endpoint, methods=["GET"])


V2_CATALOG_ROUTES = [
    _route("/v2/avatars/public", v2_public, False),
    _route("/v2/avatars/custom", v2_custom, False),
    _route("/v2/avatars/photo_avatars", v2_photo, False),
    _route("/v2/voices", v2_voices, False),
    _route("/v2/voices/custom", v2_custom_voices, False),
]
V1_CATALOG_ROUTES = [
    _route("/v1/avatars", v1_public, True),
    _route("/v1/avatars/custom", v1_custom, True),
    _route("/v1/avatars/photo_avatars", v1_photo, True),
    _route("/v1/voices", v1_voices, True),
    _route("/v1/voices/custom", v1_custom_voices, True),
]
