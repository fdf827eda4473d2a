"""One conversation, every provider protocol, sync and async, over loopback.

The same five scenes — plain, streamed, a tool round trip, vision, reasoning — run against each
provider's emulator protocol. What a user notices is asserted: the same answer objects, tool calls
that survive the trip back, images that arrive as the provider's own blocks, reasoning that comes
out as ``reasoning_content`` and goes back in the next turn. Adding a provider is one row in
``PROVIDERS``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

import pytest
from pydantic import BaseModel

import llmplex
from llmplex.testing import Emulator, Reply, ToolCall
from tests.conftest import Api

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(200))
SYSTEM = {"role": "system", "content": "You are terse."}
WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@dataclass(frozen=True)
class Row:
    """How to reach one provider's emulator protocol."""

    model: str
    settings: Callable[[Emulator], dict[str, Any]]
    reasoning_goes_back: bool = True
    """Whether the provider takes the reasoning text of an earlier turn back (Anthropic's signed
    thinking blocks, Ollama's ``thinking``); OpenAI's API does not."""
    reasoning_token: str | None = None
    """What goes back instead of the text, when the provider wants only that (Gemini's signature)."""
    stream_kwargs: dict[str, Any] | None = None
    """What a stream needs to report usage (OpenAI: only when asked)."""


PROVIDERS: dict[str, Row] = {
    "openai": Row("openai/gpt-4o", lambda emu: {"api_key": "sk-test", "base_url": emu.base_url},
                  reasoning_goes_back=False, stream_kwargs={"stream_options": {"include_usage": True}}),
    "anthropic": Row("anthropic/claude-sonnet-4-5", lambda emu: {"api_key": "sk-ant-test", "base_url": emu.base_url}),
    "ollama": Row("ollama/llama3.2", lambda emu: {"base_url": emu.url}),
    "gemini": Row("gemini/gemini-2.5-flash", lambda emu: {"api_key": "AIza-test", "base_url": emu.base_url},
                  reasoning_goes_back=False, reasoning_token="thoughtSignature"),
    "bedrock": Row("bedrock/anthropic.claude-3-5-sonnet-20241022-v2:0",
                   lambda emu: {"base_url": emu.base_url, "aws_access_key_id": "AKIDEXAMPLE",
                                "aws_secret_access_key": "matrix-secret", "region": "eu-west-1"}),
    "huggingface": Row("huggingface/meta-llama/Llama-3.3-70B-Instruct:together",
                       lambda emu: {"api_key": "hf_test", "base_url": emu.base_url}, reasoning_goes_back=False,
                       stream_kwargs={"stream_options": {"include_usage": True}}),
    "cohere": Row("cohere/command-a-03-2025", lambda emu: {"api_key": "co-test", "base_url": emu.base_url}),
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def api(mode: str, emu: Emulator, provider: str) -> Iterator[Api]:
    api = Api(mode, providers={provider: PROVIDERS[provider].settings(emu)})
    yield api
    api.close()


def _model(provider: str) -> str:
    return PROVIDERS[provider].model


def test_plain_answer(api: Api, emu: Emulator, provider: str) -> None:
    emu.enqueue(Reply("Paris is the capital of France."))
    r = api.chat(model=_model(provider), messages=[SYSTEM, {"role": "user", "content": "Capital of France?"}])
    choice = r.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == "Paris is the capital of France."
    assert choice.finish_reason == "stop"
    assert r.usage is not None and r.usage.prompt_tokens > 0 and r.usage.completion_tokens > 0
    assert "You are terse." in emu.last_request.text()  # the system prompt reached the provider


def test_streamed_answer_equals_the_whole_one(api: Api, emu: Emulator, provider: str) -> None:
    reply = Reply("one two three four five six", chunk_words=2)
    emu.enqueue(reply, reply)
    messages = [SYSTEM, {"role": "user", "content": "Count to six."}]
    whole = api.chat(model=_model(provider), messages=messages)
    chunks, streamed = api.stream(model=_model(provider), messages=messages, **PROVIDERS[provider].stream_kwargs or {})
    pieces = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    assert len(pieces) >= 3  # it really streamed
    assert "".join(pieces) == whole.choices[0].message.content == "one two three four five six"
    assert streamed.choices[0].message.content == whole.choices[0].message.content
    assert streamed.choices[0].finish_reason == whole.choices[0].finish_reason == "stop"
    assert streamed.usage == whole.usage


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
def test_tool_round_trip(api: Api, emu: Emulator, provider: str, streamed: bool) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]), Reply("Sunny, 21 C in Paris."))
    messages: list[dict[str, Any]] = [SYSTEM, {"role": "user", "content": "Weather in Paris?"}]
    kwargs = {"model": _model(provider), "tools": [WEATHER_TOOL], "tool_choice": "auto"}
    first = api.stream(messages=messages, **kwargs)[1] if streamed else api.chat(messages=messages, **kwargs)
    assert first.choices[0].finish_reason == "tool_calls"
    (call,) = first.choices[0].message.tool_calls
    assert call.type == "function" and call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == {"city": "Paris"}
    assert call.id
    assert "get_weather" in emu.last_request.text()  # the tool definition was sent

    messages += [first.choices[0].message.to_param(),
                 {"role": "tool", "tool_call_id": call.id, "content": "sunny, 21 C"}]
    second = api.chat(messages=messages, **kwargs)
    assert second.choices[0].message.content == "Sunny, 21 C in Paris."
    sent = emu.last_request.text()
    assert "sunny, 21 C" in sent  # the tool result went back
    assert "Paris" in sent and "get_weather" in sent  # with the call it answers


def get_weather(city: str, unit: Literal["celsius", "fahrenheit"] = "celsius") -> str:
    """Current weather in a city.

    Args:
        city: The city name, e.g. Paris.
        unit: Temperature unit.
    """
    return f"sunny, 21 degrees {unit} in {city}"


def test_a_python_function_is_a_tool(api: Api, emu: Emulator, provider: str) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Oslo"})]))
    r = api.chat(model=_model(provider), messages=[{"role": "user", "content": "Weather in Oslo?"}],
                 tools=[get_weather, llmplex.tool(get_weather, name="weather_too")])
    call = r.choices[0].message.tool_calls[0]
    assert get_weather(**json.loads(call.function.arguments)) == "sunny, 21 degrees celsius in Oslo"
    sent = emu.last_request.text()
    # the schema generated from the signature and the docstring reached the provider
    for text in ("Current weather in a city.", "The city name, e.g. Paris.", "fahrenheit", "weather_too"):
        assert text in sent


@pytest.mark.parametrize("source", ["data-url", "https-url"])
def test_vision(api: Api, emu: Emulator, provider: str, source: str) -> None:
    data_url = "data:image/png;base64," + base64.b64encode(PNG).decode()
    url = data_url if source == "data-url" else emu.host_file("/photo.png", PNG, content_type="image/png")
    emu.enqueue(Reply("A tiny picture."))
    r = api.chat(model=_model(provider), messages=[{"role": "user", "content": [
        {"type": "text", "text": "What is this?"}, {"type": "image_url", "image_url": {"url": url}}]}])
    assert r.choices[0].message.content == "A tiny picture."
    sent = emu.last_request.text()
    assert "What is this?" in sent
    # The image arrived: as the URL for providers that fetch it, otherwise as the bytes.
    assert base64.b64encode(PNG).decode() in sent or (source == "https-url" and url in sent)


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "stream"])
def test_reasoning_surfaces_and_goes_back(api: Api, emu: Emulator, provider: str, streamed: bool) -> None:
    emu.enqueue(Reply("Forty-two.", reasoning="Six times seven is forty-two."), Reply("You are welcome."))
    messages: list[dict[str, Any]] = [{"role": "user", "content": "What is six times seven?"}]
    model = _model(provider)
    first = api.stream(model=model, messages=messages)[1] if streamed else api.chat(model=model, messages=messages)
    message = first.choices[0].message
    assert message.content == "Forty-two."
    assert message.reasoning_content == "Six times seven is forty-two."

    api.chat(model=model, messages=[*messages, message.to_param(), {"role": "user", "content": "Thanks"}])
    sent = emu.last_request.text()
    row = PROVIDERS[provider]
    assert ("Six times seven is forty-two." in sent) == row.reasoning_goes_back
    if row.reasoning_token:
        assert row.reasoning_token in sent


class Person(BaseModel):
    """A person the text mentions."""

    name: str
    born: int
    field: Literal["maths", "physics", "computing"] | None = None


ADA = {"name": "Ada Lovelace", "born": 1815, "field": "computing"}


def _structured_reply(provider: str, value: dict[str, Any]) -> Reply:
    """What the model sends back: JSON text where the provider has a schema mode, else a call of the
    forced tool the structured-output layer declared."""
    spec = llmplex.Client()._calls.registry.spec(provider)
    if spec.capabilities.json_schema:
        return Reply(json.dumps(value))
    return Reply(tool_calls=[ToolCall("Person", value)])


@pytest.mark.parametrize("streamed", [False, True], ids=["parse", "stream"])
def test_structured_output(api: Api, emu: Emulator, provider: str, streamed: bool) -> None:
    emu.enqueue(_structured_reply(provider, ADA))
    messages = [{"role": "user", "content": "Ada Lovelace (born 1815) wrote the first program."}]
    if streamed:
        chunks, final = api.stream(model=_model(provider), messages=messages, response_format=Person)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert Person.model_validate_json(text) == Person(**ADA)
        assert final.choices[0].finish_reason == "stop" and not final.choices[0].message.tool_calls
    else:
        r = api.run(api.client.chat.completions.parse(model=_model(provider), messages=messages,
                                                      response_format=Person))
        assert r.choices[0].message.parsed == Person(**ADA)
        assert r.choices[0].finish_reason == "stop" and not r.choices[0].message.tool_calls
    sent = emu.last_request.text()
    assert "born" in sent and "computing" in sent  # the schema went to the provider


def test_structured_output_validation_retry(api: Api, emu: Emulator, provider: str) -> None:
    emu.enqueue(_structured_reply(provider, {"name": "Ada", "born": "eighteen fifteen"}),
                _structured_reply(provider, ADA))
    r = api.run(api.client.chat.completions.parse(
        model=_model(provider), messages=[{"role": "user", "content": "Ada?"}], response_format=Person,
        max_validation_retries=1))
    assert r.choices[0].message.parsed == Person(**ADA)
    assert "born: Input should be a valid integer" in emu.last_request.text()  # the model saw its mistake

    emu.enqueue(_structured_reply(provider, {"name": "Ada"}))
    with pytest.raises(llmplex.StructuredOutputError) as info:
        api.run(api.client.chat.completions.parse(
            model=_model(provider), messages=[{"role": "user", "content": "Ada?"}], response_format=Person))
    assert info.value.errors == ["born: Field required"]
    assert json.loads(info.value.raw) == {"name": "Ada"}


def _stream_events(api: Api, **kwargs: Any) -> tuple[list[Any], Any]:
    """Every event of ``chat.completions.stream(...)`` and the final parsed completion (sync|async)."""
    if api.loop is None:
        with api.client.chat.completions.stream(**kwargs) as stream:
            return list(stream), stream.get_final_completion()

    async def go() -> tuple[list[Any], Any]:
        async with api.client.chat.completions.stream(**kwargs) as stream:
            return [e async for e in stream], await stream.get_final_completion()

    return api.run(go())


def test_structured_output_streams_partial_objects(api: Api, emu: Emulator, provider: str) -> None:
    reply = _structured_reply(provider, ADA)
    emu.enqueue(Reply(reply.text, tool_calls=reply.tool_calls, chunk_words=1))
    events, final = _stream_events(api, model=_model(provider), response_format=Person,
                                   messages=[{"role": "user", "content": "Ada Lovelace, 1815, computing."}])
    deltas = [e for e in events if e.type == "content.delta"]
    partials = [e.parsed for e in deltas if e.parsed]
    assert len(partials) >= 2  # the object grew over several chunks
    for partial in partials:  # each partial object is consistent with the final one
        assert set(partial) <= set(ADA)
        assert all(str(ADA[k]).startswith(str(v)) for k, v in partial.items())
    (done,) = [e for e in events if e.type == "content.done"]
    assert done.parsed == Person(**ADA) == final.choices[0].message.parsed
    assert done.content == deltas[-1].snapshot
    assert sum(1 for e in events if e.type == "chunk") >= len(deltas)


def test_event_stream_without_a_schema_and_with_tools(api: Api, emu: Emulator, provider: str) -> None:
    emu.enqueue(Reply(tool_calls=[ToolCall("get_weather", {"city": "Paris"})]))
    events, final = _stream_events(api, model=_model(provider), tools=[get_weather],
                                   messages=[{"role": "user", "content": "Weather in Paris?"}])
    (done,) = [e for e in events if e.type == "tool_calls.function.arguments.done"]
    assert done.name == "get_weather" and json.loads(done.arguments) == {"city": "Paris"}
    assert final.choices[0].message.parsed is None
    assert final.choices[0].message.tool_calls[0].function.name == "get_weather"


@pytest.mark.parametrize(
    "choice",
    [{"tool_choice": "auto"}, {"tool_choice": "none"}, {"tool_choice": "required"},
     {"tool_choice": {"type": "function", "function": {"name": "get_weather"}}}, {"parallel_tool_calls": False}],
    ids=["auto", "none", "required", "named", "no-parallel"],
)
def test_tool_choice_is_mapped_or_refused_never_dropped_silently(
    api: Api, emu: Emulator, provider: str, choice: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    kwargs = {"model": _model(provider), "messages": [{"role": "user", "content": "Weather?"}],
              "tools": [get_weather], **choice}
    try:
        api.chat(**kwargs)
    except llmplex.UnsupportedParameterError as exc:
        assert emu.requests == []  # refused before anything was sent, naming the parameter
        assert exc.param in choice or next(iter(choice)) in str(exc)
        with caplog.at_level("WARNING", logger="llmplex"):
            api.chat(**kwargs, drop_unsupported=True)  # the user opted in: dropped, and logged
        assert any(next(iter(choice)) in record.getMessage() for record in caplog.records)
        return
    sent = emu.last_request.text()
    if choice.get("tool_choice") in ("required",) or isinstance(choice.get("tool_choice"), dict):
        assert any(word in sent.lower() for word in ("required", "any", "get_weather"))
