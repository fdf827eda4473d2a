"""The fake provider's answers, shared by the server (which renders them) and the workers (which check them).

Everything here is stdlib-only and deterministic, so a client's answer can be compared byte for byte
with what the server sent.
"""

from __future__ import annotations

import base64
import json
import struct

CHUNKS = 100  # content chunks in every streamed answer
PIECES = [f"t{i:02d} " for i in range(CHUNKS)]
TEXT = "".join(PIECES)  # the non-streamed answer equals the concatenated stream
EMBED_DIM = 1536
# k / 1024 is exact in float32, so the float and base64 encodings carry the same numbers.
VECTOR = [((i * 37) % 2001 - 1000) / 1024 for i in range(EMBED_DIM)]

OPENAI_CHAT_MODEL = "gpt-4o-mini"
OPENAI_EMBED_MODEL = "text-embedding-3-small"
ANTHROPIC_MODEL = "claude-3-5-haiku-latest"
CREATED = 1_700_000_000


def _dumps(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def openai_chat_json() -> bytes:
    return _dumps(
        {
            "id": "chatcmpl-bench",
            "object": "chat.completion",
            "created": CREATED,
            "model": OPENAI_CHAT_MODEL,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": TEXT, "refusal": None},
                    "logprobs": None,
                    "finish_reason": "stop",
                }
            ],
            "usage": {"prompt_tokens": 8, "completion_tokens": CHUNKS, "total_tokens": 8 + CHUNKS},
            "system_fingerprint": "fp_bench",
        }
    )


def _openai_chunk(delta: dict[str, object], finish: str | None) -> dict[str, object]:
    return {
        "id": "chatcmpl-bench",
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": OPENAI_CHAT_MODEL,
        "system_fingerprint": "fp_bench",
        "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
    }


def openai_chat_sse_events() -> list[bytes]:
    """One SSE event per item: 100 content chunks, the finish chunk, then [DONE]."""
    events = []
    for i, piece in enumerate(PIECES):
        delta: dict[str, object] = {"content": piece}
        if i == 0:
            delta = {"role": "assistant", "content": piece}
        events.append(b"data: " + _dumps(_openai_chunk(delta, None)) + b"\n\n")
    events.append(b"data: " + _dumps(_openai_chunk({}, "stop")) + b"\n\n")
    events.append(b"data: [DONE]\n\n")
    return events


def openai_embeddings_json(base64_encoded: bool) -> bytes:
    if base64_encoded:
        embedding: object = base64.b64encode(struct.pack(f"<{EMBED_DIM}f", *VECTOR)).decode()
    else:
        embedding = VECTOR
    return _dumps(
        {
            "object": "list",
            "data": [{"object": "embedding", "index": 0, "embedding": embedding}],
            "model": OPENAI_EMBED_MODEL,
            "usage": {"prompt_tokens": 1, "total_tokens": 1},
        }
    )


def _anthropic_message(text: str, stop: str | None, output_tokens: int) -> dict[str, object]:
    return {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": ANTHROPIC_MODEL,
        "content": [{"type": "text", "text": text}] if text else [],
        "stop_reason": stop,
        "stop_sequence": None,
        "usage": {"input_tokens": 8, "output_tokens": output_tokens},
    }


def anthropic_messages_json() -> bytes:
    return _dumps(_anthropic_message(TEXT, "end_turn", CHUNKS))


def _event(name: str, data: dict[str, object]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + _dumps({"type": name, **data}) + b"\n\n"


def anthropic_messages_sse_events() -> list[bytes]:
    events = [
        _event("message_start", {"message": _anthropic_message("", None, 1)}),
        _event("content_block_start", {"index": 0, "content_block": {"type": "text", "text": ""}}),
        _event("ping", {}),
    ]
    for piece in PIECES:
        events.append(_event("content_block_delta", {"index": 0, "delta": {"type": "text_delta", "text": piece}}))
    events.append(_event("content_block_stop", {"index": 0}))
    events.append(
        _event(
            "message_delta",
            {"delta": {"stop_reason": "end_turn", "stop_sequence": None}, "usage": {"output_tokens": CHUNKS}},
        )
    )
    events.append(_event("message_stop", {}))
    return events
