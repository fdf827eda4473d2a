"""JSON encoding of request bodies, shared by every adapter."""

from __future__ import annotations

import json
from typing import Any

from ..errors import InvalidRequestError

__all__ = ["dumps"]


def _default(value: Any) -> Any:
    # Users append response objects (e.g. ``r.choices[0].message``) to their history: accept
    # pydantic models the way the openai SDK does.
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(exclude_none=True)
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    raise TypeError(type(value).__name__)


# One encoder for the process: json.dumps with non-default options builds a new one per call.
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_default)


def dumps(body: Any) -> bytes:
    """Compact UTF-8 JSON; a value that cannot be encoded raises ``InvalidRequestError``."""
    try:
        return _ENCODER.encode(body).encode()
    except (TypeError, ValueError) as exc:
        raise InvalidRequestError(
            f"the request cannot be encoded as JSON ({exc}); pass plain dicts, lists, strings and numbers"
        ) from None
