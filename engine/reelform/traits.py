"""What reelform knows about each provider, without importing its client.

One ``ProviderTraits`` record per provider holds every fact the engine reads about
it: whether a second submit is free, whether a lost submit can be found again, its
rate limit, what a render costs, how often to poll, which files and fields it
takes, its settings and credentials, and where its client lives (a dotted path,
imported only when a provider is built). ``speclang``, ``plan`` and ``apply`` read
these records, never the client classes: importing a client pulls in httpx or
PyAV, and the pure core must not depend on them (docs/design.md, "Parts and
boundaries"). So this module imports nothing but the standard library (a test
checks), and a plugin's traits module should do the same.

The built-ins are at the bottom. ``reelform.registry`` adds the plugins, which
give their own records through the ``reelform.providers`` entry points, and
checks each one it loads. The records are NamedTuples, not dataclasses: every
command imports this module, and generating a dataclass costs start-up time
(plan_noop measures it; one of ProviderTraits' size took a millisecond).
"""

# No `from __future__ import annotations`: typing.NamedTuple would compile every
# annotation string into a ForwardRef at import, a millisecond for these records.
import math
from collections.abc import Mapping
from typing import NamedTuple

MB = 1024 * 1024

#: Every field a provider may call a label (``ProviderTraits.label_fields``): only the
#: title. ``plan/fingerprint.py`` leaves it out of the digest and the lockfile summary
#: of a no-op plan carries its value (``state/preload.py``); a second label needs both.
LABELS = ("title",)


#: ``labels_of`` of inputs without any label.
NO_LABELS: tuple[object, ...] = (None,) * len(LABELS)


def labels_of(inputs: Mapping[str, object] | None) -> tuple[object, ...]:
    """The value of each of ``LABELS`` in a video's inputs (None where absent)."""
    return tuple(map(inputs.get, LABELS)) if inputs else NO_LABELS


class Limit(NamedTuple):
    """The files of one kind (image, audio) a provider takes, checked at `validate`."""

    formats: tuple[str, ...]  # as ``speclang.assets.sniff`` names them
    max_bytes: int | None = None
    max_seconds: float | None = None
    #: An image's sides in pixels: both at least ``min_side``, the longer at most
    #: ``max_long_side``, the shorter at most ``max_short_side`` (portrait or landscape).
    min_side: int | None = None
    max_long_side: int | None = None
    max_short_side: int | None = None

    @property
    def checks_size(self) -> bool:
        return (self.min_side, self.max_long_side, self.max_short_side) != (None, None, None)


#: Every format reelform can recognise: what a provider that documents no limit takes.
ANY_IMAGE = Limit(("jpeg", "png", "webp", "gif"))
ANY_AUDIO = Limit(("wav", "mp3", "m4a"))


class Credits(NamedTuple):
    """What the provider charges, in its credits: the plan's estimate and --max-credits."""

    #: A video costs one credit per started ``seconds_per_credit`` of it, at least one.
    seconds_per_credit: float
    #: A photo avatar costs ``photo_avatar``, or what its motion model is listed at.
    photo_avatar: int = 0
    photo_avatar_by_model: tuple[tuple[str, int], ...] = ()

    def video(self, seconds: float) -> int:
        return max(1, math.ceil(seconds / self.seconds_per_credit))

    def photo(self, model: str) -> int:
        return dict(self.photo_avatar_by_model).get(model, self.photo_avatar)


class Setting(NamedTuple):
    """A key a spec may set under ``providers: {NAME: {...}}``; its value is a string."""

    name: str
    description: str
    choices: tuple[str, ...] = ()  # empty: any string
    #: Given to the client, and part of every fingerprint, when the spec sets none.
    default: str | None = None


class Needs(NamedTuple):
    """A field every video of the provider must have, `defaults` merged in.

    ``field`` is a dotted path of the video (``voice.voice_id``); the problem is
    reported at its parent (``voice``), or at the video for a top-level field.
    """

    field: str
    message: str
    #: Only a video whose voice is a ``script`` needs it (a voice for text to speech).
    scripts_only: bool = False


class Refuses(NamedTuple):
    """A top-level field the provider does not take, written on a video itself.

    The same field from `defaults` is meant for the spec's other providers: let be.
    """

    field: str
    message: str


class Conflict(NamedTuple):
    """Values the provider cannot render together, reported at field ``at``.

    ``values`` pairs a dotted field of the video (`defaults` merged in), or
    ``settings.NAME`` for one of the provider's settings, with the value it takes
    part in the conflict with.
    """

    values: tuple[tuple[str, object], ...]
    at: str
    message: str


class ProviderTraits(NamedTuple):
    """Everything reelform knows about a provider before (or without) building it.

    Give the fields by name. The defaults are the cautious answers: a provider says
    what it can do, never the other way round (a provider that does not say it is
    free is never resubmitted blindly).
    """

    name: str
    #: ``module:attribute`` of the client: called with ``(settings, ProviderContext)``
    #: it returns a ``reelform.providers.base.Provider``. Imported when one is built.
    client: str
    #: How people call it ("JoggAI"), in messages and the JSON schema.
    label: str
    #: A second submit costs nothing: a submit with an unknown outcome is simply sent
    #: again, and a render whose file is gone is made again, not downloaded.
    free: bool = False
    #: The provider can say which job an earlier submit made (``Provider.find_job``).
    #: Without it an interrupted submit is ``unknown`` until a person decides.
    finds_jobs: bool = False
    #: POST requests allowed per minute per API key, or None when unlimited.
    submit_rate_per_minute: float | None = None
    #: What renders cost, or None when the provider charges no credits.
    credits: Credits | None = None
    #: Provider seconds from a submit to the first status read (a little before its
    #: shortest typical render), and the shortest interval between two reads.
    poll_first: float = 30.0
    poll_minimum: float = 5.0
    #: The image and audio assets it takes (`validate` checks the real files).
    image: Limit = ANY_IMAGE
    audio: Limit = ANY_AUDIO
    #: What a video must have, may not have, and may not combine (`validate`).
    needs: tuple[Needs, ...] = ()
    refuses: tuple[Refuses, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    #: Top-level fields its request does not carry: they cannot change its video, so
    #: they are left out of the fingerprint (a new `defaults.aspect` re-renders
    #: nothing there, and is not paid for).
    ignored_fields: tuple[str, ...] = ()
    #: Top-level fields its request carries that do not change the picture (JoggAI's
    #: ``title``, sent as ``video_name``): labels, kept out of the fingerprint, so a
    #: new title is recorded, not rendered (docs/design.md, "Labels"). Each one is
    #: in ``LABELS``.
    label_fields: tuple[str, ...] = ()
    #: ``voice.voice_id`` only picks a text-to-speech voice: with ``audio`` it is not
    #: sent, so it is left out of the fingerprint too.
    voice_id_for_scripts: bool = False
    #: The keys a spec may set under ``providers: {NAME: ...}``.
    settings: tuple[Setting, ...] = ()
    #: Environment variables holding its secrets, its API key first: read from the
    #: environment or a .env file, never from a spec, and redacted from every message.
    credentials: tuple[str, ...] = ()
    #: The environment variable that points the client at another server (a simulator).
    base_url_variable: str | None = None
    #: Webhook deliveries are signed with the secret in this variable (which `apply
    #: --webhook-url` then requires) ...
    webhook_secret_variable: str | None = None
    #: ... or carry a token reelform makes for each run (``ProviderContext.webhook_secret``).
    webhook_token: bool = False
    #: Its videos name its avatars by id (``avatar: {id: N}``), which `plan
    #: --check-remote` checks against its catalog.
    avatar_ids: bool = False
    #: `plan --check-remote` may fetch its catalog (an offline renderer has none to fetch).
    remote_catalog: bool = False
    #: Its API tells the account's remaining credits (``providers.base.ReadsCredits``):
    #: `plan --check-remote` shows them and `apply` refuses an estimate above them.
    reads_quota: bool = False
    #: ``module:attribute`` of a zero-argument factory of an ASGI app that simulates the
    #: provider; `reelform sim` serves it at ``/NAME``. None for the built-ins, which
    #: `reelform sim` serves itself.
    simulator: str | None = None

    @property
    def secret_variables(self) -> tuple[str, ...]:
        """Every variable whose value must never be shown."""
        extra = (self.webhook_secret_variable,) if self.webhook_secret_variable else ()
        return tuple(dict.fromkeys((*self.credentials, *extra)))

    def default_settings(self) -> dict[str, str]:
        return {s.name: s.default for s in self.settings if s.default is not None}


# --- the built-ins (the numbers are docs/providers.md's) ----------------------------------

LOCAL = ProviderTraits(
    name="local",
    label="the local renderer",
    client="reelform.providers.local:LocalProvider",
    # It renders on this machine: a second render costs nothing but time, and its
    # jobs are files under .reelform/local that a restart finds again.
    free=True,
    finds_jobs=True,
    poll_first=0.5,
    poll_minimum=0.1,
    avatar_ids=True,
)

JOGG = ProviderTraits(
    name="jogg",
    label="JoggAI",
    client="reelform.providers.jogg:JoggProvider",
    # No endpoint lists avatar videos: a lost submit cannot be found again.
    finds_jobs=False,
    submit_rate_per_minute=20.0,
    # 1 credit per started 2 minutes of video; a photo avatar 2 (2.0-Pro: 3).
    credits=Credits(
        seconds_per_credit=120, photo_avatar=2, photo_avatar_by_model=(("2.0-Pro", 3),)
    ),
    poll_first=110.0,  # renders take 2 to 5 minutes
    poll_minimum=5.0,  # JoggAI discourages polling more often than every 5 s
    image=Limit(("jpeg", "png", "webp", "gif"), max_bytes=10 * MB),
    audio=Limit(("mp3", "wav", "m4a"), max_bytes=20 * MB, max_seconds=600),
    needs=(
        Needs("avatar", "jogg needs `avatar` ({id: N} or {photo: NAME})"),
        Needs("voice.voice_id", "jogg needs `voice.voice_id` (even for audio)"),
    ),
    refuses=(
        Refuses(
            "image",
            "jogg does not take `image`; make a photo avatar "
            "under `avatars:` and use `avatar: {photo: NAME}`",
        ),
    ),
    conflicts=(
        Conflict(
            (("settings.api_version", "v1"), ("screen_style", 3), ("captions", True)),
            at="captions",
            message="jogg v1 screen_style 3 (transparent WebM) needs `captions: false`",
        ),
    ),
    ignored_fields=("image",),
    # The title only names the video in the dashboard (``video_name``).
    label_fields=("title",),
    settings=(
        Setting(
            "api_version",
            "JoggAI API version: v2 (default) or v1.",
            choices=("v1", "v2"),
            default="v2",
        ),
    ),
    credentials=("JOGG_API_KEY",),
    base_url_variable="JOGG_BASE_URL",
    webhook_secret_variable="JOGG_WEBHOOK_SECRET",
    avatar_ids=True,
    remote_catalog=True,
    reads_quota=True,  # GET /v2/user/remaining_quota
)

_MIRAKO_SIZE = "its video has the image's size and no captions"
MIRAKO = ProviderTraits(
    name="mirako",
    label="Mirako",
    client="reelform.providers.mirako:MirakoProvider",
    # No documented rate (the SDK only backs off on 429s); tasks cannot be listed.
    finds_jobs=False,
    poll_first=15.0,  # 15 s to 2 min
    poll_minimum=2.0,
    image=Limit(("jpeg", "png"), min_side=512, max_long_side=1920, max_short_side=1080),
    audio=Limit(("wav", "mp3"), max_seconds=60),
    needs=(
        Needs("image", "mirako needs `image` (a JPG or PNG asset to animate)"),
        Needs(
            "voice.voice_id",
            "mirako needs `voice.voice_id` (a voice profile) to speak a script",
            scripts_only=True,
        ),
    ),
    refuses=(
        Refuses("avatar", "mirako does not take `avatar`; it animates `image`"),
        *(
            Refuses(name, f"mirako does not take `{name}`: {_MIRAKO_SIZE}")
            for name in ("aspect", "screen_style", "captions")
        ),
    ),
    # Its request is an image and audio (or a script for its TTS), nothing else.
    ignored_fields=("avatar", "aspect", "screen_style", "captions", "title"),
    voice_id_for_scripts=True,
    credentials=("MIRAKO_API_KEY",),
    base_url_variable="MIRAKO_BASE_URL",
    webhook_token=True,
    # It animates an image: its videos name no avatar ids.
    avatar_ids=False,
    remote_catalog=True,
    # mirako.yaml documents no balance endpoint and no prices: only its 402 answer
    # tells that the credit ran out.
    reads_quota=False,
)

BUILTIN: dict[str, ProviderTraits] = {t.name: t for t in (LOCAL, JOGG, MIRAKO)}
