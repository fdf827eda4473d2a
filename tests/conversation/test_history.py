"""history_for: what each provider is sent of a history other providers wrote (pure)."""

from __future__ import annotations

import copy

from llmplex.conversation import Entry, history_for
from llmplex.conversation.history import PORTABLE_KEYS

CALL = {"id": "toolu_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
ENTRIES = [
    Entry({"role": "system", "content": "S", "name": "ops"}),
    Entry({"role": "user", "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}]}),
    Entry({"role": "assistant", "content": None, "tool_calls": [CALL], "reasoning_content": "think",
           "thinking_blocks": [{"type": "thinking", "thinking": "think", "signature": "sig"}],
           "server_tool_blocks": [{"type": "server_tool_use"}], "citations": [{"x": 1}]}, "anthropic", "claude"),
    Entry({"role": "tool", "tool_call_id": "toolu_1", "content": "ok"}),
    Entry({"role": "assistant", "content": "done", "tool_plan": "plan", "audio": {"id": "a1"}}, "cohere", "command-a"),
]


def test_the_writer_gets_everything_back_others_the_portable_part() -> None:
    before = copy.deepcopy(ENTRIES)
    to_anthropic = history_for(ENTRIES, "anthropic")
    assert to_anthropic[2] == ENTRIES[2].message and to_anthropic[4] == {"role": "assistant", "content": "done"}
    to_cohere = history_for(ENTRIES, "cohere")
    assert to_cohere[4] == ENTRIES[4].message
    assert to_cohere[2] == {"role": "assistant", "content": None, "tool_calls": [CALL]}
    assert before == ENTRIES  # pure


def test_caller_messages_go_as_given_and_reasoning_only_where_accepted() -> None:
    to_deepseek = history_for(ENTRIES, "deepseek", accepts_reasoning_content=True)
    assert to_deepseek[:2] == [ENTRIES[0].message, ENTRIES[1].message]  # cache_control, name kept
    assert to_deepseek[2]["reasoning_content"] == "think" and "thinking_blocks" not in to_deepseek[2]
    assert all(set(m) <= PORTABLE_KEYS | {"reasoning_content"} for m in to_deepseek[2:])
    assert "reasoning_content" not in history_for(ENTRIES, "openai")[2]


def test_entries_round_trip_through_json() -> None:
    assert [Entry.from_json(e.to_json()) for e in ENTRIES] == ENTRIES
