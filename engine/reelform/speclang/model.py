"""The spec format, version 1, as pydantic models (docs/design.md, "The spec language").

Two stages use these models:

- ``SpecHead`` is validated right after loading: everything but the videos, which
  still hold Jinja templates (``screen_style: "{{ row.style }}"`` is not an int yet).
- ``Video`` is validated once per expanded video, after its strings were rendered;
  rendered strings are coerced ("true" -> True, "81" -> 81).

``SpecDocument`` types the whole file for the JSON Schema that editors use.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    field_validator,
    model_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError, core_schema

from reelform.registry import is_provider, known_providers


def one_of(values: Iterable[object]) -> str:
    """ "'a', 'b' or 'c'", as pydantic lists a Literal's values."""
    shown = [repr(v) for v in values]
    return " or ".join(filter(None, [", ".join(shown[:-1]), shown[-1]])) if shown else "nothing"


class _Registered:
    """A provider's name: a built-in's, or an installed plugin's (``reelform.registry``).

    Checked like a Literal, with the same message, but against the registry, which
    a Literal cannot be: plugins are found when reelform runs. The JSON schema lists
    the providers installed when it is generated (``reelform schema``).
    """

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(_provider_name)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"enum": list(known_providers()), "type": "string"}


def _provider_name(value: Any) -> str:
    if isinstance(value, str) and is_provider(value):
        return value
    raise PydanticCustomError(
        "literal_error", "Input should be {expected}", {"expected": one_of(known_providers())}
    )


ProviderName = Annotated[str, _Registered()]
Aspect = Literal["portrait", "landscape", "square"]
NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$"
NAME_RE = re.compile(NAME_PATTERN)
IDENTIFIER_PATTERN = r"^[A-Za-z_][A-Za-z0-9_-]*$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- assets, data, providers ------------------------------------------------------


class AssetPath(Strict):
    """A local file, relative to the spec's folder; content-hashed and uploaded once."""

    path: str = Field(
        description="File path relative to the spec's folder.",
        examples=["assets/intro.wav"],
        min_length=1,
    )


class AssetUrl(Strict):
    """A file that is already hosted; passed to the provider as it is."""

    url: str = Field(
        description="An http(s) URL the provider can fetch.",
        examples=["https://cdn.example.com/a.mp3"],
        pattern=r"^https?://\S+$",
    )


AssetSpec = Annotated[
    str | AssetPath | AssetUrl,
    Field(
        description="A path (short form), {path: ...} or {url: ...}.",
        examples=["assets/intro.wav", {"path": "assets/portrait.png"}],
    ),
]

DataSource = Annotated[
    str | list[dict[str, Any]],
    Field(
        description="A data file (.csv with a header row, .json array of objects, .jsonl, "
        ".yaml list of mappings) relative to the spec, or inline rows.",
        examples=["data/customers.csv", [{"code": "en"}, {"code": "de"}]],
    ),
]


class _SettingsSchema:
    """`providers:`: each provider's settings are its traits' (``speclang.settings``
    checks them, with located messages); the JSON schema lists them."""

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        from reelform.speclang.settings import settings_json_schema

        return settings_json_schema()


#: Settings per provider. Credentials never go here: they come from the environment.
ProviderSettings = Annotated[dict[str, dict[str, Any]], _SettingsSchema()]


class PhotoAvatarSpec(Strict):
    """A photo avatar made from an image (JoggAI add_motion), used as {photo: NAME}."""

    image: str = Field(description="The name of an image asset.", examples=["portrait"])
    voice_id: str = Field(
        description="The voice the photo avatar speaks with.",
        examples=["en-US-ChristopherNeural"],
        min_length=1,
    )
    model: Literal["1.0", "2.0", "2.0-Pro", "3.0"] = Field(
        "2.0", description="Motion model (2.0-Pro costs 3 credits, the others 2).", examples=["2.0"]
    )
    description: str | None = Field(
        None,
        description="Optional description for the provider.",
        examples=["Our founder, in the office"],
    )

    @field_validator("model", mode="before")
    @classmethod
    def _model_as_text(cls, value: Any) -> Any:
        # `model: 2.0` in YAML is a float; the API wants the string "2.0".
        if isinstance(value, int | float) and not isinstance(value, bool):
            return f"{value:.1f}"
        return value


# --- videos -----------------------------------------------------------------------


class AvatarSpec(Strict):
    """A provider avatar by id, or a photo avatar of this spec by name."""

    id: int | None = Field(None, description="Avatar id at the provider.", examples=[81])
    type: Literal["public", "custom"] = Field(
        "public", description="public (default) or custom (your own avatar).", examples=["public"]
    )
    photo: str | None = Field(
        None, description="The name of a photo avatar in `avatars:`.", examples=["founder"]
    )

    @model_validator(mode="after")
    def _one_kind(self) -> AvatarSpec:
        if (self.id is None) == (self.photo is None):
            raise ValueError("give exactly one of `id` and `photo`")
        if self.photo is not None and "type" in self.model_fields_set:
            raise ValueError("`type` applies to `id` avatars, not to `photo`")
        return self


class VoiceSpec(Strict):
    """What the avatar says: a script (text to speech) or an audio asset."""

    type: Literal["script", "audio"] | None = Field(
        None,
        description="script | audio; inferred from which of the two is given.",
        examples=["script"],
    )
    script: str | None = Field(
        None,
        description="Text to speak; Jinja templates allowed.",
        examples=["Hello {{ row.first_name }}!"],
    )
    audio: str | None = Field(None, description="The name of an audio asset.", examples=["intro"])
    voice_id: str | None = Field(
        None, description="The provider's voice id.", examples=["en-US-ChristopherNeural"]
    )

    @model_validator(mode="after")
    def _script_xor_audio(self) -> VoiceSpec:
        has_script = self.script is not None
        if has_script == (self.audio is not None):
            raise ValueError("give exactly one of `script` and `audio`")
        kind = "script" if has_script else "audio"
        if self.type is not None and self.type != kind:
            raise ValueError(f"`type: {self.type}` but the voice has `{kind}`")
        return self

    @property
    def kind(self) -> Literal["script", "audio"]:
        return "script" if self.script is not None else "audio"


VOICE_EXAMPLES = [
    {"script": "Hello {{ row.first_name }}!", "voice_id": "en-US-JennyNeural"},
    {"audio": "intro"},
]


class VideoFields(Strict):
    """The fields a video and `defaults` share."""

    provider: ProviderName | None = Field(
        None,
        description="local | jogg | mirako, or an installed provider plugin; "
        "default: the spec's `provider`.",
        examples=["jogg"],
    )
    avatar: AvatarSpec | None = Field(
        None, description="The avatar (JoggAI, local).", examples=[{"id": 81}, {"photo": "founder"}]
    )
    image: str | None = Field(
        None, description="An image asset to animate (Mirako, local).", examples=["portrait"]
    )
    voice: VoiceSpec | None = Field(
        None, description="Script or audio, and the voice.", examples=VOICE_EXAMPLES
    )
    aspect: Aspect | None = Field(
        None, description="portrait (default) | landscape | square.", examples=["portrait"]
    )
    screen_style: Literal[1, 2, 3] | None = Field(
        None,
        description="1 full screen (default) | 2 split screen | 3 picture in picture.",
        examples=[1],
    )
    captions: bool | None = Field(
        None, description="Burn in captions (default false).", examples=[True]
    )
    title: str | None = Field(
        None, description="Sent as the provider's video name.", examples=["Founder update"]
    )

    @field_validator("screen_style", mode="before")
    @classmethod
    def _screen_style_from_text(cls, value: Any) -> Any:
        # A rendered template is a string, and Literal[1, 2, 3] does not coerce "2".
        if isinstance(value, str) and value.strip().isdigit():
            return int(value)
        return value


class Video(VideoFields):
    """One video after expansion: every template rendered, every value coerced."""

    name: str = Field(
        pattern=NAME_PATTERN,
        description="Lockfile key and output file stem.",
        examples=["welcome-{{ row.id }}"],
    )
    voice: VoiceSpec = Field(description="Script or audio, and the voice.", examples=VOICE_EXAMPLES)


MatrixAxis = Annotated[
    Annotated[str, Field(min_length=1)] | Annotated[list[dict[str, Any]], Field(min_length=1)],
    Field(
        description="A data source's name, or inline rows.",
        examples=["team", [{"code": "en"}, {"code": "de"}]],
    ),
]


class VideoEntry(Video):
    """A video as written in the spec (before expansion)."""

    # `for_each` and `matrix` exclude each other (expand.py says so, located).
    model_config = ConfigDict(
        extra="forbid", frozen=True, json_schema_extra={"not": {"required": ["for_each", "matrix"]}}
    )

    for_each: str | None = Field(
        None, description="A data source: one video per row.", examples=["customers"]
    )
    matrix: dict[Annotated[str, Field(pattern=IDENTIFIER_PATTERN)], MatrixAxis] | None = Field(
        None,
        description="Named axes, each a data source's name or inline rows: one video per "
        "combination (axes in the order written, like nested loops), the rows are "
        "`matrix.AXIS`. Not with `for_each`.",
        examples=[{"person": "team", "lang": [{"code": "en"}, {"code": "de"}]}],
        min_length=1,
    )
    when: bool | str | None = Field(
        None,
        description="Skip rows (or matrix combinations) where this renders false.",
        examples=["{{ row.active == 'yes' }}"],
    )


class VideoDefaults(VideoFields):
    """Deep-merged under every video."""


# --- the file ---------------------------------------------------------------------


DEFAULTS_TEXT = "Video fields deep-merged under every video; a video's own values win."
DEFAULTS_EXAMPLE = {
    "avatar": {"id": 81},
    "voice": {"voice_id": "en-US-ChristopherNeural"},
    "aspect": "portrait",
    "captions": True,
}
VIDEOS_TEXT = (
    "The videos; one with `for_each` expands to one video per data row, one with "
    "`matrix` to one video per combination of its axes' rows."
)
VIDEOS_EXAMPLE = [
    {
        "name": "welcome-{{ row.id }}",
        "for_each": "customers",
        "voice": {"script": "{% include 'welcome.txt.j2' %}"},
    }
]


class SpecHead(Strict):
    """A spec file with its videos still unexpanded."""

    model_config = ConfigDict(
        extra="forbid",
        frozen=True,
        title="reelform spec",
        json_schema_extra={"$comment": "reelform spec format, version 1"},
    )

    version: Literal[1] = Field(description="The spec format version: 1.", examples=[1])
    name: str | None = Field(
        None, pattern=NAME_PATTERN, description="Default: the file's stem.", examples=["welcome"]
    )
    provider: ProviderName = Field(
        "local",
        description="Default provider of the file's videos: local | jogg | mirako, or an "
        "installed provider plugin.",
        examples=["local"],
    )
    output: str | None = Field(
        None,
        description="Folder for finished videos, relative to the "
        "spec. Default: out/<name> beside the spec.",
        examples=["../out/welcome"],
    )
    providers: ProviderSettings = Field(
        default_factory=dict,
        description="Settings per provider.",
        examples=[{"jogg": {"api_version": "v2"}}],
    )
    vars: dict[str, Any] = Field(
        default_factory=dict,
        description="Constants for templates ({{ vars.X }}); `--var X=V` overrides.",
        examples=[{"company": "Acme"}],
    )
    assets: dict[Annotated[str, Field(pattern=IDENTIFIER_PATTERN)], AssetSpec] = Field(
        default_factory=dict,
        description="Files the videos use, by name.",
        examples=[{"intro": "assets/intro.wav", "portrait": {"path": "assets/portrait.png"}}],
    )
    data: dict[Annotated[str, Field(pattern=IDENTIFIER_PATTERN)], DataSource] = Field(
        default_factory=dict,
        description="Row sources for `for_each` and `matrix`.",
        examples=[{"customers": "data/customers.csv", "langs": [{"code": "en"}]}],
    )
    avatars: dict[Annotated[str, Field(pattern=IDENTIFIER_PATTERN)], PhotoAvatarSpec] = Field(
        default_factory=dict,
        description="Photo avatars made from images.",
        examples=[{"founder": {"image": "portrait", "voice_id": "en-US-ChristopherNeural"}}],
    )
    defaults: dict[str, Any] = Field(
        default_factory=dict, description=DEFAULTS_TEXT, examples=[DEFAULTS_EXAMPLE]
    )
    videos: list[dict[str, Any]] = Field(
        min_length=1, description=VIDEOS_TEXT, examples=[VIDEOS_EXAMPLE]
    )


class SpecDocument(SpecHead):
    """A reelform spec (format version 1): the videos that should exist, often one
    per row of a data file through Jinja templates. `reelform plan` shows what
    must change to make it true; `reelform apply` makes it true."""

    # (For the JSON Schema only: the whole file typed; the docstring is its description.)
    defaults: VideoDefaults = Field(
        default_factory=VideoDefaults,  # type: ignore[assignment]
        description=DEFAULTS_TEXT,
        examples=[DEFAULTS_EXAMPLE],
    )
    videos: list[VideoEntry] = Field(
        min_length=1,  # type: ignore[assignment]
        description=VIDEOS_TEXT,
        examples=[VIDEOS_EXAMPLE],
    )


def allowed_keys(model: type[BaseModel]) -> dict[str, type[BaseModel] | None]:
    """Field name -> nested model class (or None), for checking raw keys before rendering."""
    nested: dict[str, type[BaseModel] | None] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        candidates = getattr(annotation, "__args__", (annotation,))
        sub = next(
            (c for c in candidates if isinstance(c, type) and issubclass(c, BaseModel)), None
        )
        nested[name] = sub
    return nested
