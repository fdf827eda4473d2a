"""Conversations in a dict, for one process (tests, notebooks, short-lived agents)."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence

from ..history import Entry

__all__ = ["MemoryStore"]


class MemoryStore:
    """Keeps conversations in memory; gone when the process ends. Entries are copied in and out,
    so changing a loaded message never changes the stored one.

    >>> store = MemoryStore()
    >>> store.append("t1", [Entry({"role": "user", "content": "Hi"})])
    >>> store.load("t1")[0].message
    {'role': 'user', 'content': 'Hi'}
    """

    def __init__(self) -> None:
        self._data: dict[str, list[Entry]] = {}
        self._lock = threading.Lock()

    def load(self, conversation_id: str) -> list[Entry]:
        with self._lock:
            return copy.deepcopy(self._data.get(conversation_id, []))

    def append(self, conversation_id: str, entries: Sequence[Entry]) -> None:
        with self._lock:
            self._data.setdefault(conversation_id, []).extend(copy.deepcopy(list(entries)))

    def replace(self, conversation_id: str, entries: Sequence[Entry]) -> None:
        with self._lock:
            self._data[conversation_id] = copy.deepcopy(list(entries))

    def delete(self, conversation_id: str) -> None:
        with self._lock:
            self._data.pop(conversation_id, None)

    def conversation_ids(self) -> list[str]:
        with self._lock:
            return sorted(self._data)

    def close(self) -> None:
        """Nothing to release."""
