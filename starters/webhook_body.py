"""Reading a webhook body: media type, size, time, and JSON of bounded depth and numbers.

Each refusal is a ``BodyRefused`` carrying the HTTP status to answer: 415 for
a media type other than JSON, 413 for a body too large, 408 for a body that
does not arrive in time, 400 for anything that is not bounded JSON. Nothing
here raises anything else for any input.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import Any

from starlette.requests import Request

MAX_JSON_DEPTH = 32
"""Nesting of arrays and objects; an alert event needs 4."""
MAX_JSON_INTEGER = 2**63 - 1
"""Integers beyond 64 bits are refused (Opsgenie's largest are nanosecond times)."""


class BodyRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def check_media_type(request: Request) -> None:
    """JSON (``application/json`` or ``*/*+json``), or no Content-Type at all."""
    declared = request.headers.get("content-type")
    if declared is None:
        return
    media = declared.split(";", 1)[0].strip().lower()
    if media != "application/json" and not media.endswith("+json"):
        raise BodyRefused(415, f"Content-Type must be application/json, not {media[:80]!r}")


async def read_body(request: Request, limit: int, timeout_seconds: float) -> bytes:
    try:
        async with asyncio.timeout(timeout_seconds):
            return await _read(request, limit)
    except TimeoutError:
        raise BodyRefused(408, f"body not received within {timeout_seconds:g} s") from None


async def _read(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    too_large = BodyRefused(413, f"body larger than {limit} bytes")
    if declared and declared.isdigit() and int(declared) > limit:
        raise too_large
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise too_large
    return bytes(body)


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > 19 or abs(value := int(text)) > MAX_JSON_INTEGER:
        raise ValueError(f"integer {text[:30]}… beyond 64 bits")
    return value


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:30]} out of range")
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _depth(value: Any) -> int:
    """Nesting depth, counted without recursion."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                children = item.values() if isinstance(item, dict) else item
                stack.extend((child, depth + 1) for child in children)
    return deepest


def parse_json(body: bytes) -> Any:
    try:
        value = json.loads(body, parse_int=_integer, parse_float=_finite, parse_constant=_constant)
    except RecursionError:
        raise BodyRefused(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BodyRefused(400, f"malformed JSON: {exc}") from None
    if _depth(value) > MAX_JSON_DEPTH:
        raise BodyRefused(400, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    return value
