"""Conversation stores: :class:`MemoryStore`, :class:`SQLiteStore` (the default persistent one) and
:class:`PostgresStore`; any object with the :class:`ConversationStore` methods works too."""

from __future__ import annotations

from pathlib import Path

from .base import ConversationStore
from .memory import MemoryStore
from .postgres import PostgresStore
from .sqlite import SQLiteStore

__all__ = ["ConversationStore", "MemoryStore", "PostgresStore", "SQLiteStore", "open_store"]


def open_store(target: ConversationStore | str | Path | None) -> ConversationStore:
    """A store from what a caller passed: ``None`` -> :class:`MemoryStore`; a ``postgresql://`` or
    ``postgres://`` URL -> :class:`PostgresStore`; another string or path -> :class:`SQLiteStore`;
    a store -> itself."""
    if target is None:
        return MemoryStore()
    if isinstance(target, str) and target.startswith(("postgresql://", "postgres://")):
        return PostgresStore(target)
    if isinstance(target, (str, Path)):
        return SQLiteStore(target)
    return target
