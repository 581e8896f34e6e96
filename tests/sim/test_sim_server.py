"""The simulator over real sockets: serve_in_thread, dropped connections, `reelform sim`."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import httpx
import pytest
from simkit import FAST
from starlette.applications import Starlette

from reelform.sim import SimConfig, create_app, free_port, serve_in_thread
from reelform.sim.core import Simulator

BODY = {
    "avatar": {"avatar_id": 81, "avatar_type": 0},
    "voice": {"type": "script", "voice_id": "en-US-ChristopherNeural", "script": "Hi"},
    "aspect_ratio": "portrait",
    "screen_style": 1,
}


def test_serve_in_thread_and_control_endpoints() -> None:
    with serve_in_thread(SimConfig(time_scale=FAST)) as base:
        assert base.startswith("http://127.0.0.1:")
        with httpx.Client(base_url=base, headers={"x-api-key": "k"}) as client:
            assert client.get("/_sim/health").json() == {"ok": True}
            created = client.post("/jogg/v2/create_video_from_avatar", json=BODY).json()
            assert created["code"] == 0
            log = client.get("/_sim/requests", params={"method": "POST"}).json()
            assert [r["path"] for r in log] == ["/jogg/v2/create_video_from_avatar"]
            assert log[0]["headers"]["x-api-key"] == "***" and log[0]["status"] == 200
            config = client.post("/_sim/config", json={"jogg_credits": 0}).json()
            assert config["jogg_credits"] == 0
            assert client.get("/_sim/credits").json()["jogg"] == 0
            refused = client.post("/jogg/v2/create_video_from_avatar", json=BODY).json()
            assert refused["code"] == 18020
            client.post("/_sim/reset")
            assert client.get("/_sim/requests").json() == []
    with pytest.raises(httpx.ConnectError):
        httpx.get(base + "/_sim/health", timeout=1)


def test_dropped_connection_over_a_real_socket() -> None:
    app = create_app(SimConfig(time_scale=FAST, drop_rate=1.0, fault_methods={"POST"}))
    sim: Simulator = app.state.sim
    with (
        serve_in_thread(app=app) as base,
        httpx.Client(base_url=base + "/jogg", headers={"x-api-key": "k"}, timeout=5) as client,
    ):
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("/v2/create_video_from_avatar", json=BODY)
        assert len(sim.jobs) == 1  # processed: the outcome is unknown to the client
        # The server itself is fine and answers the next request.
        assert client.get("/v2/voices").json()["code"] == 0
        sim.config.drop_rate = 0.0
        sim.config.drop_before_rate = 1.0
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            client.post("/v2/create_video_from_avatar", json=BODY)
        assert len(sim.jobs) == 1


def _wait_healthy(base: str, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(base + "/_sim/health", timeout=0.5).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("reelform sim did not come up")


def test_reelform_sim_subprocess() -> None:
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "reelform",
            "sim",
            "--port",
            str(port),
            "--time-scale",
            "0.001",
            "--seed",
            "3",
            "--slow-rate",
            "0.5",
            "--burst-429-every",
            "4",
            "--fail-rate",
            "0.25",
            "--rate-limit",
            "5",
            "--made-then-gateway-rate",
            "0.5",
            "--made-then-gateway-answers",
            "504",
            "--not-found-seconds",
            "30",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_healthy(base, proc)
        answer = httpx.get(
            base + "/mirako/v1/voice/premade_profiles", headers={"Authorization": "Bearer anything"}
        )
        assert answer.status_code == 200 and answer.json()["data"]
        config = httpx.get(base + "/_sim/config").json()
        assert config["time_scale"] == 0.001 and config["seed"] == 3
        assert (config["slow_rate"], config["burst_429_every"]) == (0.5, 4)
        assert (config["render_fail_rate"], config["rate_limit_per_minute"]) == (0.25, 5)
        assert config["made_then_gateway_rate"] == 0.5
        assert config["made_then_gateway_answers"] == ["504"]
        assert config["not_found_seconds"] == 30.0
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert f"JOGG_BASE_URL=http://127.0.0.1:{port}/jogg" in out
    assert f"MIRAKO_BASE_URL=http://127.0.0.1:{port}/mirako" in out
    assert "stopped" in out and "Traceback" not in err


def test_reelform_sim_on_a_port_in_use_is_a_user_error() -> None:
    """Exit 1 with the reason, before any banner that would point people at it."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [sys.executable, "-m", "reelform", "sim", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert result.returncode == 1, result.stderr
    assert f"cannot listen on 127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr and "JOGG_BASE_URL" not in result.stdout


def test_reelform_sim_refuses_public_interfaces() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "reelform", "sim", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "--allow-remote" in result.stderr


def test_is_loopback() -> None:
    from reelform.commands.sim import is_loopback

    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert is_loopback("127.5.0.1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.2")
    assert not is_loopback("example.com")


# (command line, SimConfig field, the value it must set). Every fault option is here.
OPTIONS = [
    (["--waf-403-rate", "0.2"], "waf_403_rate", 0.2),
    (["--unavailable-rate", "0.3"], "unavailable_rate", 0.3),
    (["--retry-after-seconds", "9"], "retry_after_seconds", 9),
    (["--slow-after-rate", "0.4"], "slow_after_rate", 0.4),
    (["--slow-seconds", "7.5"], "slow_seconds", 7.5),
    (["--made-then-gateway-rate", "0.5"], "made_then_gateway_rate", 0.5),
    (["--made-then-gateway-answers", "502, reset"], "made_then_gateway_answers", {"502", "reset"}),
    (["--not-found-seconds", "45"], "not_found_seconds", 45.0),
    (["--not-found-rate", "0.25"], "not_found_rate", 0.25),
    (["--unauthorized-reads-after", "100"], "unauthorized_reads_after", 100),
    (["--unauthorized-reads-count", "20"], "unauthorized_reads_count", 20),
    (["--unauthorized-reads-rate", "0.1"], "unauthorized_reads_rate", 0.1),
    (["--error-rate", "0.1"], "error_rate", 0.1),
    (["--system-error-rate", "0.1"], "system_error_rate", 0.1),
    (["--drop-rate", "0.1"], "drop_rate", 0.1),
    (["--drop-before-rate", "0.1"], "drop_before_rate", 0.1),
    (["--slow-rate", "0.1"], "slow_rate", 0.1),
    (["--webhook-loss-rate", "0.1"], "webhook_loss_rate", 0.1),
    (["--signed-url-seconds", "600"], "signed_url_seconds", 600.0),
    (["--jogg-credits", "3"], "jogg_credits", 3.0),
    (["--mirako-credits", "12.5"], "mirako_credits", 12.5),
]


def run_sim_command(monkeypatch: pytest.MonkeyPatch, args: list[str]) -> tuple[Any, SimConfig]:
    """`reelform sim ARGS` in process, with a server that stops at once; its config."""
    from click.testing import CliRunner

    import reelform.sim.server
    from reelform.cli import cli

    seen: list[SimConfig] = []

    class Server:
        def run(self, sockets: list[socket.socket]) -> None:
            for sock in sockets:
                sock.close()

    def make_server(app: Starlette, host: str, port: int, log_level: str = "") -> Server:
        seen.append(app.state.sim.config)
        return Server()

    monkeypatch.setattr(reelform.sim.server, "make_server", make_server)
    result = CliRunner().invoke(cli, ["sim", "--port", "0", *args])
    return result, (seen[0] if seen else SimConfig())


@pytest.mark.parametrize(("args", "field", "value"), OPTIONS, ids=[o[1] for o in OPTIONS])
def test_reelform_sim_option_sets_the_config(
    monkeypatch: pytest.MonkeyPatch, args: list[str], field: str, value: Any
) -> None:
    result, config = run_sim_command(monkeypatch, args)
    assert result.exit_code == 0, result.output
    assert getattr(config, field) == value
    assert getattr(SimConfig(), field) != value  # the option changed something


def test_reelform_sim_defaults_leave_the_new_faults_off(monkeypatch: pytest.MonkeyPatch) -> None:
    result, config = run_sim_command(monkeypatch, [])
    assert result.exit_code == 0, result.output
    assert config.waf_403_rate == config.unavailable_rate == config.slow_after_rate == 0
    assert config.made_then_gateway_rate == 0 and config.not_found_seconds == 0
    assert config.unauthorized_reads_count == config.unauthorized_reads_rate == 0
    assert config.made_then_gateway_answers == {"502", "504", "reset"}


def test_reelform_sim_help_lists_every_fault_option() -> None:
    from click.testing import CliRunner

    from reelform.cli import cli

    result = CliRunner().invoke(cli, ["sim", "--help"], terminal_width=200)
    assert result.exit_code == 0
    for args, _, _ in OPTIONS:
        assert args[0] in result.output, args[0]
    # The help says what each hostile answer does to the job, not just its name.
    assert "processed and charged, then answered by a gateway" in result.output
    assert "(not processed)" in result.output


def test_reelform_sim_refuses_unknown_gateway_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    result, _ = run_sim_command(monkeypatch, ["--made-then-gateway-answers", "502,418"])
    assert result.exit_code == 2
    assert "give one or more of 502, 504, reset" in result.output
