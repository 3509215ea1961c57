"""Thought signatures the simulator issues and later verifies, without keeping any state.

A signature is an HMAC over what it signs (a function call's name and canonical args, or an
answer's text), so a replayed call carries its own proof: any instance with the same key can
tell a restored signature from a missing, copied or forged one.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from typing import Any

import orjson

from . import errors
from .plan import JSON, ErrorReply, SignatureCheck, SignatureResult

DUMMY_SIGNATURE = "skip_thought_signature_validator"
"""The value Google documents for histories that never had a signature; it is accepted."""

DEFAULT_KEY = b"zerogravity-simulator-signature-key"
_CALL_TAG = b"\x0a\x20"
_TEXT_TAG = b"\x12\x20"


class SignatureAuthority:
    """Issues and checks signatures with one HMAC key."""

    def __init__(self, key: bytes = DEFAULT_KEY) -> None:
        self._key = key

    def for_call(self, name: str, args: Any) -> str:
        return self._sign(_CALL_TAG, b"call\0" + name.encode() + b"\0" + canonical(args))

    def for_text(self, text: str) -> str:
        return self._sign(_TEXT_TAG, b"text\0" + text.encode())

    def classify(self, signature: Any, name: str, args: Any) -> SignatureResult:
        """`real` if this authority issued it for exactly this call, else why not."""
        if signature is None or signature == "":
            return "missing"
        if signature == DUMMY_SIGNATURE:
            return "dummy"
        if not isinstance(signature, str):
            return "invalid"
        expected = self.for_call(name, args)
        return "real" if hmac.compare_digest(signature, expected) else "invalid"

    def _sign(self, tag: bytes, message: bytes) -> str:
        mac = hmac.new(self._key, message, hashlib.sha256).digest()
        return base64.b64encode(tag + mac).decode("ascii")


def canonical(args: Any) -> bytes:
    """Args as sorted-key JSON, with integral floats as ints, so a JSON round trip keeps them."""
    return orjson.dumps(_integral(args), option=orjson.OPT_SORT_KEYS)


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _integral(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_integral(item) for item in value]
    return value


def check_replayed_calls(
    contents: Sequence[JSON], authority: SignatureAuthority
) -> tuple[SignatureCheck, ...]:
    """Judge the first functionCall part of every model content (the one Google signs)."""
    checks: list[SignatureCheck] = []
    for index, content in enumerate(contents):
        if content.get("role") != "model":
            continue
        first = next((part for part in content.get("parts") or [] if "functionCall" in part), None)
        if first is None:
            continue
        call = first["functionCall"]
        name = str(call.get("name", ""))
        result = authority.classify(first.get("thoughtSignature"), name, call.get("args") or {})
        checks.append(SignatureCheck(position=index + 1, name=name, result=result))
    return tuple(checks)


def failure(checks: Sequence[SignatureCheck]) -> ErrorReply | None:
    """The 400 for the first unacceptable signature, as Gemini 3 reports it."""
    for check in checks:
        if check.result == "missing":
            return errors.missing_signature(check.name, check.position)
        if check.result == "invalid":
            return errors.invalid_signature()
    return None
