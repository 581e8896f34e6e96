"""Why ``reelform.plan(...)`` works although ``reelform.plan`` is a package.

``reelform.plan`` and ``reelform.apply`` are subpackages, and importing a
submodule sets it as an attribute of its parent: a function ``reelform.plan``
would be replaced by the package the first time anything imported
``reelform.plan.diff``. So the two packages are themselves callable, and calling
them calls ``reelform.api.plan`` / ``reelform.api.apply``; ``reelform.plan.diff``
and the like keep working as before.
"""

from __future__ import annotations

import sys
import types
from typing import Any


def make_callable(module_name: str, function: str) -> None:
    """Make the (already imported) module ``module_name`` call ``reelform.api.<function>``."""

    class CallableModule(types.ModuleType):
        def __call__(self, *args: Any, **kwargs: Any) -> Any:
            from reelform import api

            return getattr(api, function)(*args, **kwargs)

    CallableModule.__call__.__doc__ = f"reelform.api.{function}"
    sys.modules[module_name].__class__ = CallableModule
