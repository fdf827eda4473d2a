"""The store contract: what a conversation needs to persist its messages.

A store keeps, per conversation id, an ordered list of :class:`~llmplex.conversation.history.Entry`.
``append`` is the hot path and must be safe from several processes at once (each call's entries
stay together and in order; nothing is lost); ``replace`` rewrites one conversation (after its
context strategy trimmed or summarised it).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from ...errors import ConfigurationError
from ..history import Entry

__all__ = ["ConversationStore", "check_table_name"]

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class ConversationStore(Protocol):
    """Where conversations live: :class:`MemoryStore`, :class:`SQLiteStore`, :class:`PostgresStore`,
    or any object with these methods."""

    def load(self, conversation_id: str) -> list[Entry]:
        """The conversation's entries in order (empty for an unknown id)."""
        ...

    def append(self, conversation_id: str, entries: Sequence[Entry]) -> None:
        """Add entries at the end, atomically."""
        ...

    def replace(self, conversation_id: str, entries: Sequence[Entry]) -> None:
        """Make ``entries`` the whole conversation, atomically."""
        ...

    def delete(self, conversation_id: str) -> None:
        """Forget the conversation."""
        ...

    def conversation_ids(self) -> list[str]:
        """Ids of the stored conversations, sorted."""
        ...

    def close(self) -> None:
        """Release connections (the store reopens on next use)."""
        ...


def check_table_name(table: str) -> str:
    """A table name safe to put in SQL text (identifiers cannot be bound parameters)."""
    if not _IDENTIFIER.fullmatch(table):
        raise ConfigurationError(f"table name {table!r} must be a plain SQL identifier ([A-Za-z_][A-Za-z0-9_]*)")
    return table
