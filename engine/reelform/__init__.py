"""reelform: video as code for AI talking-avatar videos.

The library API (``reelform.api``), loaded on first use so that ``import
reelform`` stays cheap:

    reelform.load(path, vars=None) -> LoadedSpec       validated and expanded
    reelform.plan(paths, vars=None, targets=()) -> list[SpecPlan]
    reelform.apply(paths, ..., yes=True) -> list[Outcome]

Errors: ``reelform.errors`` (``SpecError``, ``BusyError``, ``ConfigError``...).
"""

from __future__ import annotations

import importlib

# Not `typing.TYPE_CHECKING`: importing typing would be most of `import reelform`'s
# cost; mypy treats any name TYPE_CHECKING as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from reelform.api import load as load

    __version__: str

__all__ = ["__version__", "apply", "errors", "load", "plan"]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        # The installed distribution's, which setuptools-scm took from the git tag at
        # build time: the same as `reelform --version`. Looked up on first use only.
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("reelform")
        except PackageNotFoundError:  # a source tree never installed: pyproject's fallback
            return "0.1.0.dev0"
    if name == "load":
        from reelform.api import load

        return load
    if name in ("plan", "apply", "errors", "api"):
        # `plan` and `apply` are callable packages (see reelform._entry).
        return importlib.import_module(f"reelform.{name}")
    raise AttributeError(f"module 'reelform' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
