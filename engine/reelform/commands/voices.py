"""`reelform voices`: list a provider's voices, as a table or as JSON."""

from __future__ import annotations

from typing import Any

import click

from reelform.commands.avatars import print_rows, run_with_provider
from reelform.commands.common import ProviderChoice
from reelform.providers.base import Provider, VoiceInfo


def voice_row(voice: VoiceInfo) -> dict[str, Any]:
    return {
        "voice_id": voice.voice_id,
        "name": voice.name,
        "language": voice.language,
        "gender": voice.gender,
        **voice.details,
    }


@click.command(
    help="""List the voices a provider offers.

    Use a voice's id in a spec (`voice: {voice_id: en-US-ChristopherNeural}`).
    JoggAI lists its public voices and your own; Mirako its premade voice profiles
    and your own (a Mirako voice turns a `script` into speech before animating).
    Needs JOGG_API_KEY or MIRAKO_API_KEY for those providers.
    """
)
@click.option(
    "--provider",
    "provider_name",
    type=ProviderChoice(),
    default="local",
    show_default=True,
    help="Whose voices to list.",
)
@click.option(
    "--language",
    help="Only voices for this language (JoggAI: e.g. english; Mirako: a code such as en).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def command(provider_name: str, language: str | None, as_json: bool) -> int:
    async def use(provider: Provider) -> list[VoiceInfo]:
        return await provider.list_voices(language)

    voices = run_with_provider(provider_name, use)
    rows = sorted(
        (voice_row(v) for v in voices),
        key=lambda r: (str(r.get("language") or ""), str(r["voice_id"])),
    )
    columns = ["voice_id", "name", "language", "gender"] + [
        c for c in ("origin", "accent", "age") if any(c in row for row in rows)
    ]
    print_rows(rows, columns, as_json=as_json, title=f"{provider_name} voices")
    return 0
