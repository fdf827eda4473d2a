"""The base of every response type: pydantic, lenient about extra provider fields."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["ResponseModel"]


class ResponseModel(BaseModel):
    """A response object. Unknown fields a provider sends (``citations``, ``x_groq`` …) are kept
    as extra attributes, so nothing a provider returns is lost; ``model_dump(exclude_none=True)``
    gives the JSON an OpenAI client accepts."""

    model_config = ConfigDict(extra="allow", protected_namespaces=())
