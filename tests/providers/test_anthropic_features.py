"""Anthropic request features the corpus records only in part: documents and citations, prompt
caching (the caller's markers and the ``cache_control`` option), ``anthropic_beta``, server tool
blocks and citations sent back in the history (pure, no sockets)."""

from __future__ import annotations

import base64
import copy
import json
from typing import Any

import pytest

from llmplex._http import HttpResponse
from llmplex._requests import CallSettings, ChatRequest
from llmplex.config import environment_layer
from llmplex.errors import ConfigurationError, InvalidRequestError, UnsupportedParameterError
from llmplex.providers.anthropic import ANTHROPIC_SPEC, AnthropicAdapter

ADAPTER = AnthropicAdapter(ANTHROPIC_SPEC)
PDF = "data:application/pdf;base64,JVBERi0xLjQK"
EPHEMERAL = {"type": "ephemeral"}


def _cfg(**options: Any) -> CallSettings:
    extra_headers = options.pop("extra_headers", {})
    return CallSettings(provider="anthropic", base_url=ANTHROPIC_SPEC.base_url, options=options,
                        extra_headers=extra_headers)


def _body(messages: list[Any], cfg: CallSettings | None = None, **params: Any) -> dict[str, Any]:
    built = ADAPTER.build_chat_request(ChatRequest("claude", messages, params), cfg or _cfg())
    assert built.body is not None
    result: dict[str, Any] = json.loads(built.body)
    return result


def _user(*parts: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"role": "user", "content": list(parts)}]


# -- documents and citations ------------------------------------------------------------------


def test_file_parts_become_document_blocks() -> None:
    text = "data:text/plain;base64," + base64.b64encode(b"The grass is green.").decode()
    content = _body(_user(
        {"type": "file", "file": {"file_data": PDF, "filename": "report.pdf"}, "citations": {"enabled": True}},
        {"type": "file", "file": {"file_data": text}, "title": "Facts", "context": "from a test"},
        {"type": "file", "file": {"file_url": "https://example.com/a.pdf"}, "cache_control": EPHEMERAL},
        {"type": "file", "file": {"file_id": "file_011"}},
        {"type": "file", "file": {"file_data": "data:image/png;base64,AAA=", "filename": "pic.png"}},
    ))["messages"][0]["content"]
    assert content == [
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0xLjQK"},
         "title": "report.pdf", "citations": {"enabled": True}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "The grass is green."},
         "title": "Facts", "context": "from a test"},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/a.pdf"}, "cache_control": EPHEMERAL},
        {"type": "document", "source": {"type": "file", "file_id": "file_011"}},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA="}},
    ]


@pytest.mark.parametrize(("file", "error"), [
    ({"file_data": "data:application/zip;base64,UEsD"}, UnsupportedParameterError),
    ({"file_data": "data:text/plain;base64,%%%"}, InvalidRequestError),
    ({"file_data": "data:application/pdf,not-base64"}, InvalidRequestError),
    ({"filename": "x.pdf"}, InvalidRequestError),
])
def test_file_parts_that_cannot_be_sent(file: dict[str, Any], error: type[Exception]) -> None:
    with pytest.raises(error):
        _body(_user({"type": "file", "file": file}))


_CITED = {
    "id": "msg_1", "type": "message", "role": "assistant", "model": "claude", "stop_reason": "end_turn",
    "usage": {"input_tokens": 10, "output_tokens": 5, "server_tool_use": {"web_search_requests": 1}},
    "content": [
        {"type": "text", "text": "Let me look."},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "grass"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1",
         "content": [{"type": "web_search_result", "url": "https://g.example", "title": "Grass",
                      "encrypted_content": "EnC"}]},
        {"type": "text", "text": " Grass is green", "citations": [
            {"type": "web_search_result_location", "url": "https://g.example", "title": "Grass",
             "encrypted_index": "Ei", "cited_text": "green grass"}]},
        {"type": "text", "text": " (mostly).", "citations": None},
        {"type": "text", "text": " Page 2 agrees.", "citations": [
            {"type": "page_location", "cited_text": "agrees", "document_index": 0, "document_title": "Doc",
             "start_page_number": 2, "end_page_number": 3}]},
    ],
}


def _parse(body: dict[str, Any]) -> Any:
    return ADAPTER.parse_chat_response(HttpResponse(200, {}, json.dumps(body).encode()), ChatRequest("m", [], {}))


def test_citations_are_kept_with_their_spans() -> None:
    message = _parse(_CITED).choices[0].message
    assert message.content == "Let me look. Grass is green (mostly). Page 2 agrees."
    citations = message.citations
    assert [message.content[c["start_index"]:c["end_index"]] for c in citations] == [" Grass is green",
                                                                                     " Page 2 agrees."]
    assert citations[1]["citation"]["start_page_number"] == 2
    assert message.annotations == [{"type": "url_citation", "url_citation": {
        "url": "https://g.example", "title": "Grass", "start_index": 12, "end_index": 27}}]
    assert message.tool_calls is None  # the search ran at Anthropic: nothing for the caller to run
    assert [b["type"] for b in message.server_tool_blocks] == ["server_tool_use", "web_search_tool_result"]


def test_server_blocks_and_citations_go_back_in_the_history() -> None:
    message = _parse(_CITED).choices[0].message
    history = [{"role": "user", "content": "Colour of grass?"}, message, {"role": "user", "content": "Sure?"}]
    assistant = _body(history)["messages"][1]["content"]
    assert assistant == [
        _CITED["content"][1], _CITED["content"][2],
        {"type": "text", "text": "Let me look."},
        _CITED["content"][3],
        {"type": "text", "text": " (mostly)."},
        _CITED["content"][5],
    ]
    edited = {**message.to_param(), "content": "Grass is green."}  # spans no longer fit: plain text
    assert _body([history[0], edited])["messages"][1]["content"][2:] == [{"type": "text", "text": "Grass is green."}]


# -- prompt caching ------------------------------------------------------------------------------


_TOOLS = [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}},
          {"type": "function", "function": {"name": "g"}}]
_CHAT = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "one"},
         {"role": "assistant", "content": "two"}, {"role": "user", "content": "three"}]


def test_caller_markers_are_kept_verbatim() -> None:
    marker = {"type": "ephemeral", "ttl": "1h"}
    body = _body([
        {"role": "system", "content": [{"type": "text", "text": "Long rules", "cache_control": marker}]},
        {"role": "user", "content": [{"type": "image_url", "image_url": {"url": "https://x.example/a.png"},
                                      "cache_control": marker}]},
        {"role": "assistant", "content": "",
         "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}]},
        {"role": "tool", "tool_call_id": "t1", "content": "42", "cache_control": marker},
        {"role": "user", "content": "Thanks", "cache_control": marker},
    ], tools=[{**_TOOLS[0], "cache_control": marker}])
    assert body["system"][0]["cache_control"] == marker
    assert body["messages"][0]["content"][0]["cache_control"] == marker
    assert body["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "42", "cache_control": marker},
        {"type": "text", "text": "Thanks", "cache_control": marker}]
    assert body["tools"][0]["cache_control"] == marker


def test_auto_cache_control_marks_tools_system_and_last_user_turn() -> None:
    messages = copy.deepcopy(_CHAT)
    body = _body(messages, _cfg(cache_control="auto", cache_ttl="1h"), tools=_TOOLS)
    marker = {"type": "ephemeral", "ttl": "1h"}
    assert "cache_control" not in body["tools"][0] and body["tools"][1]["cache_control"] == marker
    assert body["system"] == [{"type": "text", "text": "Be brief.", "cache_control": marker}]
    assert body["messages"][0]["content"] == "one"
    assert body["messages"][2]["content"] == [{"type": "text", "text": "three", "cache_control": marker}]
    assert messages == _CHAT  # the caller's messages are not touched


def test_auto_cache_control_stays_within_four_breakpoints() -> None:
    marked = [{"role": "user", "content": [{"type": "text", "text": str(i), "cache_control": EPHEMERAL}]}
              for i in range(3)]
    body = _body([{"role": "system", "content": "S"}, *marked, {"role": "user", "content": "last"}],
                 _cfg(cache_control="auto"), tools=_TOOLS)
    blocks = [*body["tools"], *body["messages"][0]["content"]]
    assert sum("cache_control" in b for b in blocks) == 4  # three of the caller's + the last tool
    assert body["system"] == "S"


def test_top_level_cache_control_and_off() -> None:
    assert _body(_CHAT, _cfg(cache_control="top_level"))["cache_control"] == EPHEMERAL
    assert "cache_control" not in json.dumps(_body(_CHAT, _cfg(cache_control="off")))
    with pytest.raises(ConfigurationError):
        _body(_CHAT, _cfg(cache_control="always"))
    with pytest.raises(ConfigurationError):
        _body(_CHAT, _cfg(cache_control="auto", cache_ttl="2h"))


# -- beta flags, rejected and native parameters ------------------------------------------------


def _headers(cfg: CallSettings) -> dict[str, str]:
    return ADAPTER.build_chat_request(ChatRequest("claude", _CHAT, {}), cfg).headers


def test_anthropic_beta_header() -> None:
    assert _headers(_cfg(anthropic_beta=["files-api-2025-04-14", "context-1m-2025-08-07"]))["anthropic-beta"] == \
        "files-api-2025-04-14,context-1m-2025-08-07"
    merged = _cfg(anthropic_beta="a, b", extra_headers={"Anthropic-Beta": "b,c"})
    assert _headers(merged)["anthropic-beta"] == "a,b,c"
    assert "anthropic-beta" not in _headers(_cfg())
    with pytest.raises(ConfigurationError):
        _headers(_cfg(anthropic_beta=3))


def test_options_come_from_the_environment() -> None:
    env = {"LLMPLEX_ANTHROPIC_BETA": "files-api-2025-04-14", "LLMPLEX_ANTHROPIC_CACHE_CONTROL": "auto",
           "LLMPLEX_ANTHROPIC_CACHE_TTL": "1h"}
    values = environment_layer({"anthropic": ANTHROPIC_SPEC}, env)
    assert values[("anthropic", "anthropic_beta")] == "files-api-2025-04-14"
    assert values[("anthropic", "cache_control")] == "auto"
    assert values[("anthropic", "cache_ttl")] == "1h"


def test_rejected_and_native_parameters() -> None:
    with pytest.raises(UnsupportedParameterError, match="n must be 1"):
        _body(_CHAT, n=2)
    with pytest.raises(UnsupportedParameterError, match="seed"):
        _body(_CHAT, seed=7)
    native = CallSettings(provider="anthropic", base_url=ANTHROPIC_SPEC.base_url, extra_body={"top_k": 40})
    assert _body(_CHAT, native)["top_k"] == 40
    web_search = {"type": "web_search_20250305", "name": "web_search", "max_uses": 2}
    assert _body(_CHAT, tools=[_TOOLS[0], web_search])["tools"][1] == web_search
