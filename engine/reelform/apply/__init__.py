"""Applying plans: the executor, downloads, polling, webhooks, progress.

Calling the package, ``reelform.apply(paths)``, is ``reelform.api.apply``.
"""

from reelform._entry import make_callable

make_callable(__name__, "apply")
