"""A deterministic Gemini upstream (public Gemini API and Cloud Code `v1internal`) for tests.

`plan_request` is the sans-IO core; `create_app` the aiohttp application; `Simulator` runs it
on the current event loop. Steer it from a prompt with `[[sim:...]]` directives.
"""

from .app import SimConfig, create_app
from .behaviour import plan_request
from .plan import ErrorReply, Flavour, Framing, Plan
from .server import Simulator
from .signatures import DUMMY_SIGNATURE, SignatureAuthority

__all__ = [
    "DUMMY_SIGNATURE",
    "ErrorReply",
    "Flavour",
    "Framing",
    "Plan",
    "SignatureAuthority",
    "SimConfig",
    "Simulator",
    "create_app",
    "plan_request",
]
