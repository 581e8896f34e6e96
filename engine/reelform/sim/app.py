"""Assemble one Starlette app: JoggAI under /jogg, Mirako under /mirako, control /_sim."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Mount

from reelform.sim import jogg, jogg_v1, mirako
from reelform.sim.config import SimConfig
from reelform.sim.control import CONTROL_ROUTES
from reelform.sim.core import Simulator
from reelform.sim.faults import RecordAndFault
from reelform.sim.jogg_common import STORAGE_ROUTES


def create_app(config: SimConfig | None = None) -> Starlette:
    """A fresh simulator of both providers; its state is ``app.state.sim``."""
    sim = Simulator(config or SimConfig())
    app = Starlette(
        routes=[
            Mount("/jogg", routes=[*jogg.routes(), *jogg_v1.routes(), *STORAGE_ROUTES]),
            Mount("/mirako", routes=mirako.routes()),
            Mount("/_sim", routes=CONTROL_ROUTES),
        ],
        middleware=[Middleware(RecordAndFault, sim=sim)],
    )
    app.state.sim = sim
    return app
