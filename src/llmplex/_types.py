"""Small shared value types: the "not given" sentinel and :class:`Secret`.

``NOT_GIVEN`` tells "the caller said nothing" apart from ``None`` ("the caller asked for null"),
the same distinction the openai SDK draws with its ``NotGiven`` sentinel.
"""

from __future__ import annotations

from typing import Final, Literal

__all__ = ["NOT_GIVEN", "NotGiven", "Secret"]


class NotGiven:
    """Sentinel type for an argument the caller did not pass.

    >>> NOT_GIVEN
    NOT_GIVEN
    >>> bool(NOT_GIVEN)
    False
    """

    _instance: NotGiven | None = None

    def __new__(cls) -> NotGiven:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> Literal[False]:
        return False

    def __repr__(self) -> str:
        return "NOT_GIVEN"

    def __reduce__(self) -> str:
        return "NOT_GIVEN"


NOT_GIVEN: Final = NotGiven()


class Secret:
    """A credential that never prints itself.

    ``str``, ``repr``, ``format`` and pickling all show ``'***'``; only :meth:`reveal` returns the
    value, and only the code that writes a request header calls it.

    >>> key = Secret("sk-live-123")
    >>> print(key, repr(key), f"{key}")
    *** Secret('***') ***
    >>> key.reveal()
    'sk-live-123'
    """

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError(f"a secret must be a str, got {type(value).__name__}")
        self._value = value

    def reveal(self) -> str:
        """Return the secret value itself. Use it only to build the outgoing request."""
        return self._value

    def __str__(self) -> str:
        return "***"

    def __repr__(self) -> str:
        return "Secret('***')"

    def __format__(self, spec: str) -> str:
        return "***"

    def __bool__(self) -> bool:
        return bool(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __reduce__(self) -> tuple[type[Secret], tuple[str]]:
        # Pickling a Secret carries a placeholder, never the value.
        return (Secret, ("***",))
