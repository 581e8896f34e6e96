"""Simulators of the JoggAI and Mirako HTTP APIs, as one Starlette ASGI app.

Written from the providers' documentation (docs/providers.md), sharing no code with
``reelform.providers``, so a misreading in a client is caught here and vice versa.

In process (unit tests)::

    from reelform.sim import SimConfig, create_app
    app = create_app(SimConfig(time_scale=0.0005, seed=1))
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app),
                               base_url="http://sim/jogg")   # or .../mirako
    sim = app.state.sim          # .config (mutable), .requests, .reset(), .jobs

As a real server (end-to-end tests)::

    from reelform.sim import serve_in_thread
    with serve_in_thread(SimConfig(time_scale=0.0005)) as base:  # "http://127.0.0.1:PORT"
        ...  # JOGG_BASE_URL = base + "/jogg", MIRAKO_BASE_URL = base + "/mirako"

or ``reelform sim --port 8700`` in a shell. Any non-empty API key works unless
``SimConfig.jogg_api_keys``/``mirako_api_keys`` restrict them.

Control endpoints (for a simulator in another process): ``GET /_sim/health``,
``GET /_sim/requests`` (filters provider, method, path, path_prefix, since),
``GET|POST /_sim/config`` (merge JSON into the config), ``POST /_sim/reset``,
``GET /_sim/webhooks`` (delivery attempts), ``GET /_sim/credits``, ``GET /_sim/made``
(what the provider made and charged: filters ``kind``, ``ref``), ``GET /_sim/counters``.

Routes: JoggAI v2 (``/jogg/v2/...``: upload/asset, create_video_from_avatar,
avatar_video/{id}, photo_avatar/add_motion, photo_avatar, avatars/public|custom|
photo_avatars, voices, voices/custom, endpoint(s), user/remaining_quota), JoggAI v1
(``/jogg/v1/...``: upload/asset, create_video_from_talking_avatar, project, avatars, avatars/custom|
photo_avatars, voices, voices/custom), Mirako (``/mirako/v1/...``:
video/async_generate_talking_avatar, .../{task_id}/status, speech/tts,
voice/premade_profiles, voice/profiles). Storage the simulator hands out URLs for:
``PUT /jogg/_upload/{token}``, ``GET /jogg/_assets/...``, ``GET /jogg/_files/{id}.mp4``
(also ``.webm``, ``.jpg``), ``GET /mirako/_files/{id}.mp4|.wav``.

Faults (``SimConfig``; all off by default, drawn from a seeded RNG; ``faults.py`` lists
them with the name each logs in ``RequestRecord.fault``): not processed: ``error_rate``
(500/502/503, with or without a body), ``system_error_rate`` (JoggAI code 50000,
Mirako 500 problem), ``burst_429_every``/``burst_429_length``, ``drop_before_rate``,
``waf_403_rate`` (HTML 403), ``unavailable_rate`` (503 with Retry-After); processed:
``drop_rate`` (then the connection is cut: outcome unknown), ``slow_after_rate``
(answered ``slow_seconds`` late), ``slow_rate`` (processed ``slow_seconds`` late);
``fault_methods`` limits those to some HTTP methods. Targeted, whatever the method:
``made_then_gateway_rate``/``made_then_gateway_answers`` (a paid create is made, then a
gateway answers 502/504 HTML or resets), ``not_found_seconds``/``not_found_rate`` (new
jobs are not found by status reads for a while), ``unauthorized_reads_after``/
``unauthorized_reads_count``/``unauthorized_reads_rate`` (API GETs answer 401, as after
a key rotation). Renders: ``render_fail_rate`` (Mirako's terminal status per
``mirako_fail_status``), ``webhook_loss_rate``. The JoggAI rate limit
(``rate_limit_per_minute`` POSTs per key in a sliding ``rate_window_seconds``) is
always on.

What was made: ``sim.made`` (``Made``: kind, id, cost, the request index, name, the
sha256 of the inputs, so a nameless Mirako task is found by its image or audio),
``sim.made_for(ref)``, and ``RequestRecord.made`` on the request that made it.

Webhooks: JoggAI deliveries are signed with ``SimConfig.jogg_webhook_secret``
(``DEFAULT_WEBHOOK_SECRET`` unless changed; ``sign(body, secret)`` computes the header);
``SimConfig.webhook_transport`` (e.g. ``httpx.ASGITransport(receiver_app)``) delivers
in process instead of over the network.

A cut connection raises ``httpx.RemoteProtocolError`` through ``httpx.ASGITransport``
and breaks the socket over a real server (use ``serve_in_thread``, or wrap the app in
``real_server_app`` if you run uvicorn yourself).
"""

from reelform.sim.app import create_app
from reelform.sim.config import DEFAULT_WEBHOOK_SECRET, SimConfig
from reelform.sim.core import Made, RequestRecord, Simulator
from reelform.sim.faults import SimulatedDisconnect, real_server_app
from reelform.sim.server import free_port, serve_in_thread
from reelform.sim.webhooks import sign

__all__ = [
    "DEFAULT_WEBHOOK_SECRET",
    "Made",
    "RequestRecord",
    "SimConfig",
    "SimulatedDisconnect",
    "Simulator",
    "create_app",
    "free_port",
    "real_server_app",
    "serve_in_thread",
    "sign",
]
