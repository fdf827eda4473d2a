"""Cohere ``POST /v2/embed`` <-> OpenAI embeddings (https://docs.cohere.com/reference/embed).

v2 requires ``input_type``: it comes from ``extra_body["input_type"]``, else the provider option
``embedding_input_type``, else :data:`DEFAULT_INPUT_TYPE` (``"image"`` when every input is an
image data URL). ``encoding_format="base64"`` asks for ``embedding_types: ["base64"]`` (decoded
back to floats, as the OpenAI adapter does), otherwise ``["float"]``; ``dimensions`` becomes
``output_dimension`` (embed-v4 and newer).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from .._requests import CallSettings, EmbeddingRequest
from ..errors import InvalidRequestError, InvalidResponseError, UnsupportedParameterError
from ..types.embedding import CreateEmbeddingResponse, Embedding, EmbeddingUsage
from ._shared import drop_or_raise

__all__ = ["DEFAULT_INPUT_TYPE", "INPUT_TYPES", "embed_body", "embedding_response"]

DEFAULT_INPUT_TYPE = "search_document"
"""Sent when neither ``extra_body["input_type"]`` nor the ``embedding_input_type`` option is set:
right for indexing documents; queries against them should use ``search_query``."""

INPUT_TYPES = frozenset({"search_document", "search_query", "classification", "clustering", "image"})


def _is_image(value: str) -> bool:
    return value.startswith("data:image/") and ";base64," in value[:80]


def embed_body(req: EmbeddingRequest, cfg: CallSettings, provider: str) -> dict[str, Any]:
    """The ``/v2/embed`` body for an OpenAI-shaped embeddings request."""
    value = req.input
    texts = [value] if isinstance(value, str) else list(value) if isinstance(value, Sequence) else None
    if not texts or not all(isinstance(t, str) for t in texts):
        raise UnsupportedParameterError(f"{provider} embeds strings (or image data URLs), not token ids",
                                        provider=provider, param="input")
    images = all(_is_image(t) for t in texts)
    body: dict[str, Any] = {"model": req.model, "images" if images else "texts": texts}
    input_type = cfg.extra_body.get("input_type") or cfg.options.get("embedding_input_type")
    input_type = input_type or ("image" if images else DEFAULT_INPUT_TYPE)
    if input_type not in INPUT_TYPES:
        raise InvalidRequestError(f"{provider} input_type must be one of {', '.join(sorted(INPUT_TYPES))}, "
                                  f"not {input_type!r}")
    body["input_type"] = input_type
    encoding = "float"
    for key, param in req.params.items():
        if key == "dimensions":
            body["output_dimension"] = param
        elif key == "encoding_format" and param in ("float", "base64"):
            encoding = param
        else:
            drop_or_raise(provider, key, cfg, "native Embed API")
    body["embedding_types"] = [encoding]
    body.update(cfg.extra_body)
    return body


def _vectors(embeddings: Any, provider: str) -> list[list[float]]:
    if isinstance(embeddings, list):  # "embeddings_floats" responses
        return embeddings
    if not isinstance(embeddings, Mapping):
        raise InvalidResponseError(f"{provider} returned no 'embeddings'", provider=provider)
    if isinstance(embeddings.get("float"), list):
        return list(embeddings["float"])
    if isinstance(embeddings.get("base64"), list):
        from .openai import decode_base64_floats  # little-endian float32, the same encoding

        return [decode_base64_floats(v) for v in embeddings["base64"]]
    raise InvalidResponseError(f"{provider} returned no float or base64 embeddings (got {sorted(embeddings)})",
                               provider=provider)


def embedding_response(data: Mapping[str, Any], model: str, provider: str) -> CreateEmbeddingResponse:
    """A ``/v2/embed`` body -> ``CreateEmbeddingResponse`` (usage from ``meta.billed_units``)."""
    try:
        items = [Embedding(index=i, embedding=v) for i, v in enumerate(_vectors(data.get("embeddings"), provider))]
    except ValueError:
        raise InvalidResponseError(f"{provider} returned an embedding that is not a list of numbers",
                                   provider=provider) from None
    meta = data.get("meta")
    counts = (meta.get("tokens") or meta.get("billed_units")) if isinstance(meta, Mapping) else None
    tokens = counts.get("input_tokens") if isinstance(counts, Mapping) else None
    usage = EmbeddingUsage(prompt_tokens=int(tokens), total_tokens=int(tokens)) if tokens is not None else None
    return CreateEmbeddingResponse(data=items, model=model, usage=usage)
