"""The offline `local` provider: talking-avatar MP4s rendered on this machine.

Speech comes from eSpeak NG, the avatars are drawn (or a photo is animated), and
PyAV encodes H.264/AAC. ``render`` is the pure renderer; ``LocalProvider`` puts it
behind the Provider protocol with a process pool.
"""

from reelform.providers.local.provider import LocalProvider
from reelform.providers.local.render import RenderRequest, RenderResult, render

__all__ = ["LocalProvider", "RenderRequest", "RenderResult", "render"]
