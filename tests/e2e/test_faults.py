"""Errors, retries and broken streams over real sockets (RELIABILITY A1, A4, A5, A9, B2–B4, C4–C6)."""

from __future__ import annotations

import pytest

import llmplex
from llmplex.testing import Emulator, Fault, Reply
from tests.conftest import Api

USER = [{"role": "user", "content": "one two three four five six"}]


@pytest.mark.parametrize(
    ("status", "body", "error_class"),
    [
        (400, {"error": {"message": "bad", "type": "invalid_request_error", "param": "stop",
                         "code": "unsupported_parameter"}}, llmplex.BadRequestError),
        (400, {"error": {"message": "too long", "type": "invalid_request_error",
                         "code": "context_length_exceeded"}}, llmplex.ContextWindowExceededError),
        (400, {"error": {"message": "filtered", "code": "content_filter"}}, llmplex.ContentFilterError),
        (401, {"error": {"message": "Incorrect API key", "code": "invalid_api_key"}}, llmplex.AuthenticationError),
        (403, {"error": {"message": "nope"}}, llmplex.PermissionDeniedError),
        (404, {"error": {"message": "no such model", "code": "model_not_found"}}, llmplex.NotFoundError),
        (422, {"detail": [{"loc": ["body", "x"], "msg": "extra"}]}, llmplex.BadRequestError),
        (402, {"error": {"message": "Insufficient credits", "code": 402}}, llmplex.QuotaExceededError),
        (429, {"error": {"message": "quota", "type": "insufficient_quota", "code": "insufficient_quota"}},
         llmplex.QuotaExceededError),
    ],
)
def test_error_statuses_map_to_the_typed_tree_without_retry(
    api: Api, emu: Emulator, status: int, body: dict[str, object], error_class: type[Exception]
) -> None:
    emu.enqueue(Reply(status=status, body=body))
    with pytest.raises(error_class) as info:
        api.chat(model="openai/gpt-4o", messages=USER)
    assert type(info.value) is error_class
    assert info.value.status_code == status  # type: ignore[attr-defined]
    assert info.value.request_id  # type: ignore[attr-defined]
    assert len(emu.requests) == 1


def test_429_with_retry_after_is_retried_once_after_the_delay(api: Api, emu: Emulator) -> None:
    import time

    emu.enqueue(Reply.error(429, "slow down", headers={"retry-after": "0.3"}), Reply("ok"))
    start = time.monotonic()
    assert api.chat(model="openai/gpt-4o", messages=USER).choices[0].message.content == "ok"
    assert time.monotonic() - start >= 0.3
    assert len(emu.requests) == 2


def test_retry_after_above_the_cap_fails_at_once_with_retry_after(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.error(429, "slow down", headers={"retry-after": "61"}))
    with pytest.raises(llmplex.RateLimitError) as info:
        api.chat(model="openai/gpt-4o", messages=USER)
    assert info.value.retry_after == 61
    assert len(emu.requests) == 1


def test_server_errors_are_retried_max_retries_times(api: Api, emu: Emulator) -> None:
    retry_now = {"retry-after-ms": "1"}
    emu.enqueue(*[Reply.error(503, "down", headers=retry_now)] * 3)
    with pytest.raises(llmplex.ServiceUnavailableError):
        api.chat(model="openai/gpt-4o", messages=USER)
    assert len(emu.requests) == 3
    emu.enqueue(Reply.error(500, "boom", headers=retry_now), Reply("recovered"))
    assert api.chat(model="openai/gpt-4o", messages=USER).choices[0].message.content == "recovered"
    emu.enqueue(Reply.error(503, "down", headers={"x-should-retry": "false"}))
    with pytest.raises(llmplex.ServiceUnavailableError):
        api.chat(model="openai/gpt-4o", messages=USER, max_retries=5)
    assert len(emu.requests) == 6


def test_truncated_body_is_a_typed_connection_error_and_is_retried(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("a reply long enough", fault=Fault(close_after_bytes=10)),
                Reply("a reply long enough", fault=Fault(reset_after_bytes=10)))
    with pytest.raises(llmplex.APIConnectionError):
        api.chat(model="openai/gpt-4o", messages=USER, max_retries=1)
    assert len(emu.requests) == 2


def test_no_foreign_exception_at_any_truncation_offset(api: Api, emu: Emulator) -> None:
    """RELIABILITY B3/B4: a body cut (FIN or RST) at each of the first 100 bytes raises only
    llmplex errors, never JSONDecodeError, KeyError or a transport exception."""
    for offset in range(100):
        for fault in (Fault(close_after_bytes=offset), Fault(reset_after_bytes=offset)):
            emu.enqueue(Reply("a reply long enough to cut", fault=fault))
            with pytest.raises(llmplex.LLMError) as info:
                api.chat(model="openai/gpt-4o", messages=USER, max_retries=0)
            assert isinstance(info.value, llmplex.APIConnectionError), (offset, fault, info.value)


def test_read_timeout_is_typed(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(fault=Fault(no_response=True)))
    with pytest.raises(llmplex.APITimeoutError):
        api.chat(model="openai/gpt-4o", messages=USER, timeout=(1.0, 0.3), max_retries=0)


def test_connection_refused_is_typed(mode: str) -> None:
    api = Api(mode, provider="openai", api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0)
    with pytest.raises(llmplex.APIConnectionError) as info:
        api.chat(model="openai/gpt-4o", messages=USER)
    assert not isinstance(info.value, llmplex.APITimeoutError)
    api.close()


@pytest.mark.parametrize("after", [1, 3])
def test_reset_mid_stream_raises_with_the_partial_text(api: Api, emu: Emulator, after: int) -> None:
    emu.enqueue(Reply("alpha beta gamma delta epsilon", fault=Fault(reset_after_chunks=after + 1)))
    chunks, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError)
    delivered = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert error.partial_text == delivered
    assert delivered == "alpha beta gamma delta epsilon"[: len(delivered)] and delivered
    assert len(emu.requests) == 1  # never retried after the first chunk reached the user


def test_stream_without_terminal_event_never_ends_quietly(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("cut short here", fault=Fault(omit_done=True)))
    _, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert isinstance(error, llmplex.StreamInterruptedError)
    assert error.partial_text == "cut short here"


def test_usage_chunk_missing_after_finish_is_an_interruption(api: Api, emu: Emulator) -> None:
    # Asked for usage, got the finish chunk, then the connection closed before usage and [DONE].
    emu.enqueue(Reply("a b c", fault=Fault(close_after_bytes=None, omit_done=True)))
    _, error = api.stream_until_error(model="openai/gpt-4o", messages=USER, stream_options={"include_usage": True})
    assert isinstance(error, llmplex.StreamInterruptedError)


def test_malformed_event_raises_after_earlier_chunks(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("w1 w2 w3 w4 w5 w6 w7 w8", fault=Fault(malformed_event_at=4)))
    chunks, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert isinstance(error, llmplex.StreamParseError)
    assert error.event_index == 4
    assert len(chunks) == 4


def test_invalid_utf8_in_an_event_is_typed(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("w1 w2 w3 w4", fault=Fault(invalid_utf8_at=2)))
    _, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert error is None or isinstance(error, llmplex.StreamParseError)
    assert not isinstance(error, UnicodeDecodeError)


def test_error_event_inside_a_200_stream_is_typed_after_the_deltas(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply.stream_error(3, "Overloaded", type="overloaded_error"))
    chunks, error = api.stream_until_error(model="openai/gpt-4o", messages=USER)
    assert isinstance(error, llmplex.OverloadedError)
    assert sum(1 for c in chunks if c.choices and c.choices[0].delta.content) == 3
    assert len(emu.requests) == 1


def test_error_status_on_a_stream_request_is_typed_and_retried_before_the_first_byte(
    api: Api, emu: Emulator
) -> None:
    emu.enqueue(Reply.error(503, "down", headers={"retry-after-ms": "1"}), Reply("fine now"))
    _, final = api.stream(model="openai/gpt-4o", messages=USER)
    assert final.choices[0].message.content == "fine now"
    assert len(emu.requests) == 2
    emu.enqueue(Reply.error(401, "bad key"))
    with pytest.raises(llmplex.AuthenticationError):
        api.stream(model="openai/gpt-4o", messages=USER)


def test_sse_comments_and_crlf_framing(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply("x y z", fault=Fault(sse_comments=5, line_ending="\r\n")))
    _, final = api.stream(model="openai/gpt-4o", messages=USER)
    assert final.choices[0].message.content == "x y z"


def test_non_json_success_body_is_typed(api: Api, emu: Emulator) -> None:
    emu.enqueue(Reply(body=b"<html>gateway</html>", headers={"content-type": "text/html"}))
    with pytest.raises(llmplex.InvalidResponseError):
        api.chat(model="openai/gpt-4o", messages=USER)
    emu.enqueue(Reply(body={"unexpected": True}))
    with pytest.raises(llmplex.InvalidResponseError, match="choices"):
        api.chat(model="openai/gpt-4o", messages=USER)


def test_a_stream_cut_anywhere_never_ends_successfully(api: Api, emu: Emulator) -> None:
    """RELIABILITY C6: wherever the connection closes before the end of the body, the stream raises."""
    from llmplex.testing import render_chat_stream_events

    request = {"model": "gpt-4o", "messages": USER, "stream": True}
    total = sum(len(e) for e in render_chat_stream_events(Reply("a b c"), request))
    for offset in [*range(0, total, 11), total - 1]:
        emu.enqueue(Reply("a b c", fault=Fault(close_after_bytes=offset)))
        _, error = api.stream_until_error(model="openai/gpt-4o", messages=USER, max_retries=0)
        assert isinstance(error, llmplex.APIConnectionError), (offset, total, error)
