"""Conversations: a thread's history sent through a client, kept inside the context window,
portable across providers and persisted in a store. Guide: docs/conversations.md.

>>> conv = llmplex.Conversation(llmplex.Client(), model="openai/gpt-4o-mini")  # doctest: +SKIP
>>> conv.send("Hi").choices[0].message.content  # doctest: +SKIP
"""

from __future__ import annotations

from .core import AsyncConversation, Conversation
from .history import Entry, history_for
from .stores import ConversationStore, MemoryStore, PostgresStore, SQLiteStore, open_store
from .window import ContextStrategy, DropOldest, Fit, Summarize, SummaryRequest

__all__ = [
    "AsyncConversation",
    "ContextStrategy",
    "Conversation",
    "ConversationStore",
    "DropOldest",
    "Entry",
    "Fit",
    "MemoryStore",
    "PostgresStore",
    "SQLiteStore",
    "Summarize",
    "SummaryRequest",
    "history_for",
    "open_store",
]
