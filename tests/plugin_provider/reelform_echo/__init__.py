"""reelform-echo: a provider plugin for reelform, small enough to read in one sitting.

- ``traits``: what reelform knows about the provider without importing its client
  (the entry point names ``reelform_echo.traits:TRAITS``).
- ``client``: the ``reelform.providers.base.Provider`` over HTTP (httpx).
- ``sim``: the "provider" itself, an ASGI app that `reelform sim` serves at /echo.
"""
