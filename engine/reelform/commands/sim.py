"""`reelform sim`: serve the JoggAI and Mirako simulators on loopback, and the
simulator of each provider plugin that has one (its traits' ``simulator``) at /NAME.

Loopback only unless ``--allow-remote``: the simulator accepts any key and has test
control endpoints (``/_sim/config``, ``/_sim/reset``), which nobody else on the
network should reach.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
from typing import Any

import click

from reelform.errors import ConfigError
from reelform.traits import BUILTIN, ProviderTraits

LOOPBACK_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


def is_loopback(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def plugin_simulators() -> list[tuple[ProviderTraits, Any]]:
    """Each plugin's simulator (its traits' ``simulator`` factory), made now.

    Only those that also name a base URL variable: without one, nothing could be
    pointed at the simulator.
    """
    from reelform.registry import import_object, providers_registry

    made = []
    for name, traits in providers_registry().items():
        if traits.simulator and traits.base_url_variable and name not in BUILTIN:
            factory = import_object(traits.simulator, f"the simulator of provider {name!r}")
            made.append((traits, factory()))
    return made


def with_plugins(app: Any, plugins: list[tuple[ProviderTraits, Any]]) -> Any:
    """The built-in simulators' app with each plugin's at ``/NAME``.

    Beside the built-ins' app, not inside it: its fault injection and ledger are
    the built-in simulators' (a plugin's simulator keeps its own).
    """
    if not plugins:
        return app
    from starlette.applications import Starlette
    from starlette.routing import Mount

    mounts = [Mount(f"/{traits.name}", app=plugin) for traits, plugin in plugins]
    return Starlette(routes=[*mounts, Mount("/", app=app)])


def _gateway_answers(ctx: click.Context, param: click.Parameter, value: str) -> set[str]:
    from reelform.sim.config import GATEWAY_ANSWERS

    answers = {part.strip() for part in value.split(",") if part.strip()}
    if not answers or not answers <= GATEWAY_ANSWERS:
        raise click.BadParameter(
            f"{value!r}: give one or more of {', '.join(sorted(GATEWAY_ANSWERS))}, comma-separated"
        )
    return answers


@click.command(name="sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8700, show_default=True, type=int, help="Port (0: any free).")
@click.option(
    "--time-scale",
    default=0.01,
    show_default=True,
    type=float,
    help="Multiplier for render times (1 = real 2-5 minute JoggAI renders).",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed of all randomness.")
@click.option("--fail-rate", default=0.0, type=float, help="Share of renders that fail.")
@click.option("--error-rate", default=0.0, type=float, help="Share of requests answered 5xx.")
@click.option(
    "--system-error-rate",
    default=0.0,
    type=float,
    help="Share of requests answered JoggAI code 50000 / Mirako 500.",
)
@click.option(
    "--drop-rate",
    default=0.0,
    type=float,
    help="Share of requests processed, then cut without an answer.",
)
@click.option(
    "--drop-before-rate", default=0.0, type=float, help="Share of requests cut before processing."
)
@click.option("--slow-rate", default=0.0, type=float, help="Share of requests delayed.")
@click.option(
    "--slow-seconds",
    default=2.0,
    type=float,
    help="Delay of --slow-rate and --slow-after-rate requests (real seconds, not scaled).",
)
@click.option(
    "--burst-429-every",
    default=0,
    type=int,
    help="After every N POSTs, answer the next --burst-429-length with 429.",
)
@click.option("--burst-429-length", default=3, type=int)
@click.option(
    "--webhook-loss-rate", default=0.0, type=float, help="Share of webhook deliveries never sent."
)
@click.option(
    "--retry-after-seconds",
    default=1,
    type=int,
    help="Retry-After of the 429 bursts and of --unavailable-rate's 503s.",
)
@click.option(
    "--signed-url-seconds",
    default=0.0,
    type=click.FloatRange(min=0.0),
    help="Sign result URLs (S3-style query string) for this many provider seconds and "
    "refuse them after; 0 (the default) hands out plain URLs.",
)
@click.option(
    "--waf-403-rate",
    default=0.0,
    type=float,
    help="Share of API requests refused by a firewall's HTML 403 page (not processed).",
)
@click.option(
    "--unavailable-rate",
    default=0.0,
    type=float,
    help="Share of API requests answered 503 with Retry-After (not processed).",
)
@click.option(
    "--slow-after-rate",
    default=0.0,
    type=float,
    help="Share of requests processed (a create makes its job), then answered "
    "--slow-seconds late: longer than a client's timeout, it pays for a job it never hears of.",
)
@click.option(
    "--made-then-gateway-rate",
    default=0.0,
    type=float,
    help="Share of paid creates (JoggAI video creates and add_motion, Mirako talking "
    "avatar and TTS) processed and charged, then answered by a gateway instead "
    "(see --made-then-gateway-answers).",
)
@click.option(
    "--made-then-gateway-answers",
    default="502,504,reset",
    show_default=True,
    callback=_gateway_answers,
    help="What the gateway answers after the job was made, comma-separated: 502 "
    "(HTML Bad Gateway), 504 (HTML Gateway Timeout), reset (connection cut).",
)
@click.option(
    "--not-found-seconds",
    default=0.0,
    type=float,
    help="For this many provider seconds (scaled by --time-scale) after its create, "
    "status reads do not find a new job (JoggAI 10104, Mirako 404).",
)
@click.option(
    "--not-found-rate",
    default=1.0,
    type=float,
    help="Share of new jobs that --not-found-seconds applies to.",
)
@click.option(
    "--unauthorized-reads-after",
    default=0,
    type=int,
    help="A rotated key: after this many API GETs (since start or reset), "
    "the next --unauthorized-reads-count answer 401.",
)
@click.option(
    "--unauthorized-reads-count",
    default=0,
    type=int,
    help="How many API GETs answer 401 (JoggAI 10105, Mirako problem) in that window.",
)
@click.option(
    "--unauthorized-reads-rate",
    default=0.0,
    type=float,
    help="Share of API GETs answered 401 at random.",
)
@click.option("--rate-limit", default=20, type=int, help="JoggAI POSTs per minute per key.")
@click.option(
    "--jogg-credits",
    default=1_000_000.0,
    type=click.FloatRange(0),
    help="JoggAI's credit balance (1 per started 2 minutes of video); exhausted, a "
    "create answers 18020. Top up with POST /_sim/credits.",
)
@click.option(
    "--mirako-credits",
    default=1_000_000.0,
    type=click.FloatRange(0),
    help="Mirako's credit balance (1 per started second); exhausted, a create answers 402.",
)
@click.option("--allow-remote", is_flag=True, help="Allow binding to a non-loopback interface.")
def command(
    host: str, port: int, allow_remote: bool, fail_rate: float, rate_limit: int, **settings: Any
) -> int:
    """Serve simulators of the JoggAI and Mirako APIs (any API key works)."""
    if not is_loopback(host) and not allow_remote:
        raise click.UsageError(
            f"refusing to bind to {host}, which is not a loopback "
            "address; pass --allow-remote to do it anyway"
        )
    # Imported here so `reelform --help` does not pay for uvicorn and PyAV.
    from reelform.sim import SimConfig, create_app
    from reelform.sim.server import make_server

    # Every other option is named after its SimConfig field.
    config = SimConfig(render_fail_rate=fail_rate, rate_limit_per_minute=rate_limit, **settings)
    plugins = plugin_simulators()
    # Bound here, before anything is printed: a port in use is the user's to fix (exit 1),
    # and port 0 is then the free port we actually hold, not one that may be taken next.
    listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listener.bind((host, port))
    except OSError as exc:
        listener.close()
        raise ConfigError(
            f"reelform sim: cannot listen on {host}:{port}: {exc.strerror or exc}"
        ) from None
    port = listener.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{shown}:{port}"
    click.echo(f"reelform sim: JoggAI at {base}/jogg, Mirako at {base}/mirako")
    for traits, _ in plugins:
        click.echo(f"reelform sim: {traits.label} (a plugin) at {base}/{traits.name}")
    click.echo("Export these to point reelform at it (any non-empty key works):")
    click.echo(f"  export JOGG_BASE_URL={base}/jogg JOGG_API_KEY=sim-key")
    click.echo(f"  export MIRAKO_BASE_URL={base}/mirako MIRAKO_API_KEY=sim-key")
    for traits, _ in plugins:
        keys = "".join(f" {variable}=sim-key" for variable in traits.credentials[:1])
        click.echo(f"  export {traits.base_url_variable}={base}/{traits.name}{keys}")
    click.echo(
        f"Control: {base}/_sim/health, /_sim/requests, /_sim/config, /_sim/credits. Ctrl-C stops."
    )
    app = with_plugins(create_app(config), plugins)
    server = make_server(app, host, port, log_level="warning")
    # uvicorn handles SIGINT/SIGTERM with a graceful shutdown, then re-raises the
    # signal; the KeyboardInterrupt that follows is the expected way out, not an error.
    with contextlib.suppress(KeyboardInterrupt):
        server.run(sockets=[listener])
    click.echo("reelform sim: stopped")
    return 0
