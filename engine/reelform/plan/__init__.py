"""Plans: fingerprints, the pure diff, and showing plans.

Calling the package, ``reelform.plan(paths)``, is ``reelform.api.plan``.
"""

from reelform._entry import make_callable

make_callable(__name__, "plan")
