"""The provider registry: the built-ins, and plugins from ``reelform.providers`` entry points.

Every part of reelform that needs a fact about a provider (the spec model, fit,
plan, polling, apply, the CLI) asks here. A plugin is a package that declares

    [project.entry-points."reelform.providers"]
    echo = "reelform_echo.traits:TRAITS"

where ``TRAITS`` is a ``reelform.traits.ProviderTraits`` named ``echo``. Built-in
names are answered without looking at the installed packages: the entry points are
read once per process, the first time another name is asked for or every name is
listed, since scanning every package's metadata costs milliseconds that a `plan`
over built-ins should not pay. A broken plugin is a ``ConfigError`` naming its
entry point whenever the plugins are needed; a plugin may not replace a built-in.
"""

from __future__ import annotations

import functools
import importlib
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from reelform.errors import ConfigError
from reelform.traits import BUILTIN, LABELS, Limit, ProviderTraits

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

GROUP = "reelform.providers"


def provider_traits(name: str) -> ProviderTraits:
    """The traits of provider ``name``; ConfigError when no provider has that name."""
    traits = BUILTIN.get(name)
    if traits is not None:
        return traits
    plugins = _plugins()
    if name in plugins:
        return plugins[name]
    raise ConfigError(f"unknown provider {name!r} (known: {', '.join(known_providers())})")


class TraitsByName(dict[str, ProviderTraits]):
    """``provider_traits`` remembered per name: ``by_name[name]`` is one dict lookup,
    for loops that ask once per video (a spec may have 100,000)."""

    def __missing__(self, name: str) -> ProviderTraits:
        traits = self[name] = provider_traits(name)
        return traits


def is_provider(name: str) -> bool:
    return name in BUILTIN or name in _plugins()


def known_providers() -> tuple[str, ...]:
    """Every provider's name: the built-ins, then the plugins in name order."""
    return (*BUILTIN, *_plugins())


def providers_registry() -> Mapping[str, ProviderTraits]:
    """Every provider's traits, by name."""
    return MappingProxyType({**BUILTIN, **_plugins()})


@functools.cache  # read on every message that is redacted
def loaded_secret_variables() -> tuple[str, ...]:
    """The secret variables of every provider that could be loaded; never raises.

    For redaction, which runs while reporting other errors: a broken plugin must
    not stop a message from being printed, only from being used.
    """
    names = [v for traits in BUILTIN.values() for v in traits.secret_variables]
    names += [v for traits in _scan().plugins.values() for v in traits.secret_variables]
    return tuple(dict.fromkeys(names))


def import_object(path: str, what: str) -> Any:
    """The object at ``module:attribute``; ConfigError saying whose it is when missing."""
    module_name, _, attribute = path.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            value = getattr(value, part)
    except Exception as exc:  # a plugin's import may fail any way: say whose it is
        raise ConfigError(
            f"{what} {path!r} cannot be imported: {type(exc).__name__}: {exc}"
        ) from None
    return value


# --- the plugins ------------------------------------------------------------------


class Scan(NamedTuple):
    plugins: Mapping[str, ProviderTraits]
    errors: tuple[str, ...] = ()


def _plugins() -> Mapping[str, ProviderTraits]:
    scan = _scan()
    if scan.errors:
        raise ConfigError("\n".join(scan.errors))
    return scan.plugins


@functools.cache
def _scan() -> Scan:
    from importlib.metadata import entry_points

    return load_plugins(entry_points(group=GROUP))


def load_plugins(points: Iterable[EntryPoint]) -> Scan:
    """Load the traits each entry point gives; every problem becomes one error line."""
    plugins: dict[str, ProviderTraits] = {}
    origins: dict[str, str] = {}
    errors: list[str] = []
    for point in sorted(points, key=lambda p: (p.name, p.value)):
        where = _describe(point)
        if point.name in BUILTIN:
            errors.append(f"{where}: may not replace the built-in provider {point.name!r}")
            continue
        if point.name in origins:
            errors.append(
                f"{where}: provider {point.name!r} is already given by {origins[point.name]}"
            )
            continue
        try:
            traits = point.load()
        except Exception as exc:  # whatever the plugin's import raises
            errors.append(f"{where}: cannot be loaded: {type(exc).__name__}: {exc}")
            continue
        if not isinstance(traits, ProviderTraits):
            errors.append(
                f"{where}: gives a {type(traits).__name__}, not a reelform.traits.ProviderTraits"
            )
            continue
        if traits.name != point.name:
            errors.append(f"{where}: its traits are named {traits.name!r}, not {point.name!r}")
            continue
        problem = traits_problem(traits)
        if problem is not None:
            errors.append(f"{where}: {problem}")
            continue
        plugins[point.name] = traits
        origins[point.name] = where
    fix = "fix the plugin or uninstall its package"
    return Scan(MappingProxyType(plugins), tuple(f"{e}; {fix}" for e in errors))


#: A provider's name is a lockfile key, a folder and URL segment, and an entry point.
NAME_PATTERN = r"^[a-z][a-z0-9_-]{0,31}$"
OBJECT_PATH = r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$"


def traits_problem(traits: ProviderTraits) -> str | None:
    """What makes a provider's traits unusable, or None (a test checks the built-ins)."""
    if not isinstance(traits.name, str) or not re.match(NAME_PATTERN, traits.name):
        return (
            f"provider name {traits.name!r}: use lowercase letters, digits, '_' and '-', "
            "starting with a letter, at most 32 characters"
        )
    for what, path in (("client", traits.client), ("simulator", traits.simulator)):
        if path is not None and not (isinstance(path, str) and re.match(OBJECT_PATH, path)):
            return f"its {what} {path!r} is not 'module:name'"
    if not traits.poll_first >= 0 or not traits.poll_minimum > 0:
        return "its poll times must be positive"
    if not isinstance(traits.image, Limit) or not isinstance(traits.audio, Limit):
        return "its image and audio limits must be reelform.traits.Limit records"
    unknown = [f for f in traits.label_fields if f not in LABELS]
    if unknown:  # the fingerprint leaves out only these (plan/fingerprint.py)
        return f"its label_fields {unknown!r} are not labels reelform knows ({', '.join(LABELS)})"
    return None


def _describe(point: EntryPoint) -> str:
    dist = getattr(point, "dist", None)
    package = f" of {dist.name} {dist.version}" if dist is not None else ""
    return f"provider plugin entry point `{point.name} = {point.value}` ({GROUP}{package})"
