"""The catalog cache for ``plan --check-remote`` and the avatars/voices commands."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from reelform.cli import main
from reelform.errors import ConfigError
from reelform.providers.base import AvatarInfo, VoiceInfo
from reelform.providers.catalog import Catalog, fetch_catalog, load_cached


class FakeProvider:
    """A provider with a fixed catalog (the commands only need these methods)."""

    name = "fake"
    submit_rate_per_minute = None
    free = False

    def __init__(self) -> None:
        self.closed = False
        self.asked: list[Any] = []

    async def list_avatars(
        self, kind: str | None = None, filters: Mapping[str, str] | None = None
    ) -> list[AvatarInfo]:
        self.asked.append((kind, dict(filters or {})))
        return [
            AvatarInfo("81", "Amanda", "public", {"gender": "female", "aspect_ratio": 0}),
            AvatarInfo("9", "Ben", "public", {"gender": "male"}),
            AvatarInfo("5", "Me", "photo", {"status": 1}),
        ]

    async def list_voices(self, language: str | None = None) -> list[VoiceInfo]:
        self.asked.append(language)
        return [
            VoiceInfo("en-US-B", "B", "english", "male", {"origin": "public"}),
            VoiceInfo("de-DE-A", "A", "german", "female", {"origin": "custom"}),
        ]

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
async def test_fetch_save_and_load(tmp_path: Path) -> None:
    catalog = await fetch_catalog(FakeProvider())  # type: ignore[arg-type]
    assert catalog.has_avatar(81) and catalog.has_avatar("5", "photo")
    assert not catalog.has_avatar(5, "public") and catalog.has_voice("de-DE-A")
    path = tmp_path / "cache" / "fake.json"
    catalog.save(path)
    loaded = load_cached(path, max_age=60, provider="fake")
    assert loaded == catalog
    assert json.loads(path.read_text())["avatars"]["public"] == ["81", "9"]  # sorted, stable
    assert load_cached(path, max_age=60, now=catalog.fetched_at + 61) is None  # stale
    assert load_cached(path, max_age=60, provider="jogg") is None  # another provider's
    assert load_cached(tmp_path / "missing.json", 60) is None
    path.write_text("{not json")
    assert load_cached(path, 60) is None
    assert [p.name for p in path.parent.iterdir()] == ["fake.json"]  # no staging left


def test_catalog_json_is_deterministic() -> None:
    one = Catalog("jogg", {"public": frozenset({"2", "1"})}, frozenset({"b", "a"}), 5.0)
    two = Catalog("jogg", {"public": frozenset({"1", "2"})}, frozenset({"a", "b"}), 5.0)
    assert one.to_json() == two.to_json() and one.avatar_ids == {"1", "2"}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeProvider:
    provider = FakeProvider()
    import reelform.commands.avatars as avatars

    monkeypatch.setattr(avatars, "make_provider", lambda name, settings, context: provider)
    return provider


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Any:
    """The real entry point (its error handling included), output captured (not a TTY)."""

    def invoke(args: list[str]) -> tuple[int, str, str]:
        code = main(args)
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return invoke


def test_avatars_json_sorted_and_filtered(fake: FakeProvider, run: Any) -> None:
    code, out, _ = run(
        [
            "avatars",
            "--provider",
            "jogg",
            "--kind",
            "public",
            "--gender",
            "female",
            "--aspect",
            "portrait",
            "--json",
        ]
    )
    assert code == 0 and fake.closed
    assert fake.asked == [("public", {"gender": "female", "aspect": "portrait"})]
    rows = json.loads(out)
    assert [(r["kind"], r["id"]) for r in rows] == [
        ("photo", "5"),
        ("public", "9"),
        ("public", "81"),
    ]


def test_avatars_plain_table_off_a_terminal(fake: FakeProvider, run: Any) -> None:
    code, out, _ = run(["avatars", "--provider", "local"])
    lines = out.splitlines()
    assert code == 0 and lines[0].split("\t")[:3] == ["id", "name", "kind"]
    assert lines[1].startswith("5\tMe\tphoto") and len(lines) == 4


def test_voices_json_and_table(fake: FakeProvider, run: Any) -> None:
    code, out, _ = run(["voices", "--provider", "mirako", "--language", "en", "--json"])
    assert code == 0 and fake.asked == ["en"]
    assert [r["voice_id"] for r in json.loads(out)] == ["en-US-B", "de-DE-A"]
    code, out, _ = run(["voices", "--provider", "jogg"])
    assert out.splitlines()[0].startswith("voice_id\tname\tlanguage\tgender\torigin")


def test_provider_errors_exit_1_with_a_message(monkeypatch: pytest.MonkeyPatch, run: Any) -> None:
    import reelform.commands.avatars as avatars

    def broken(name: str, settings: Any, context: Any) -> Any:
        raise ConfigError("JOGG_API_KEY is not set")

    monkeypatch.setattr(avatars, "make_provider", broken)
    code, _, err = run(["avatars", "--provider", "jogg"])
    assert code == 1 and "JOGG_API_KEY is not set" in err


def test_help_explains(run: Any) -> None:
    code, out, _ = run(["avatars", "--help"])
    assert code == 0 and "--kind" in out and "type: custom" in out
    code, out, _ = run(["voices", "--help"])
    assert code == 0 and "--language" in out


def test_keys_come_from_a_dotenv_file_too(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run: Any
) -> None:
    import reelform.commands.avatars as avatars

    seen: list[Any] = []

    def capture(name: str, settings: Any, context: Any) -> Any:
        seen.append(context.env)
        return FakeProvider()

    (tmp_path / ".env").write_text("JOGG_API_KEY=from_file\nJOGG_BASE_URL=http://x\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("JOGG_BASE_URL", "http://from-env")
    monkeypatch.setattr(avatars, "make_provider", capture)
    assert run(["avatars", "--provider", "jogg", "--json"])[0] == 0
    assert seen[0]["JOGG_API_KEY"] == "from_file"
    assert seen[0]["JOGG_BASE_URL"] == "http://from-env"  # the environment wins
