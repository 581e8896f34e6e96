"""The echo provider's traits: imported whenever reelform lists its providers, so
this module imports nothing but ``reelform.traits``."""

from __future__ import annotations

from reelform.traits import Needs, ProviderTraits, Refuses, Setting

TRAITS = ProviderTraits(
    name="echo",
    label="Echo",
    client="reelform_echo.client:EchoProvider",
    simulator="reelform_echo.sim:create_app",
    # Not free (the cautious default, spelt out): an interrupted submit is never sent
    # again blindly. But the provider lists its jobs by key, so one is found again.
    free=False,
    finds_jobs=True,
    poll_first=0.2,
    poll_minimum=0.1,
    needs=(Needs("voice.script", "echo needs `voice.script`: it echoes text, not audio"),),
    refuses=(
        Refuses("avatar", "echo does not take `avatar`: it has one face"),
        Refuses("image", "echo does not take `image`: it has one face"),
    ),
    # Its request holds the script, the title and the tone: nothing else can change it.
    ignored_fields=("avatar", "image", "aspect", "screen_style", "captions"),
    settings=(Setting("tone", "How the echo sounds.", choices=("flat", "bright"), default="flat"),),
    credentials=("ECHO_API_KEY",),
    base_url_variable="ECHO_BASE_URL",
)
