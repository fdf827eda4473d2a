"""OAuth access tokens for Vertex AI from Google Application Default Credentials.

Only used when a ``vertex_ai`` call has no ``api_key`` (a static access token). Needs the optional
``google-auth`` package (``pip install llmplex[vertex]``), imported on first use.

google-auth finds the credentials (``google.auth.default()``: ``GOOGLE_APPLICATION_CREDENTIALS``,
the gcloud ADC file, the metadata server) and refreshes the token when it is within a few minutes
of expiring (``google.auth._helpers.REFRESH_THRESHOLD``). Both can block: reading files, probing
the metadata server, a synchronous HTTPS call through urllib3, once an hour or so. The token is
cached between calls, so a call with a fresh token does no I/O here. The sync client does the
refresh inline; the async drivers ask :meth:`ApplicationDefaultToken.ready` first (no I/O) and run
:meth:`~ApplicationDefaultToken.refresh` in a worker thread when it is False (see ``_pipeline``).
"""

from __future__ import annotations

import threading
from typing import Any

from .errors import AuthenticationError, ConfigurationError

__all__ = ["SCOPES", "ApplicationDefaultToken"]

SCOPES = ("https://www.googleapis.com/auth/cloud-platform",)


class ApplicationDefaultToken:
    """A callable returning a valid access token (``google.auth.default()`` credentials).

    >>> token = ApplicationDefaultToken()  # doctest: +SKIP
    >>> token()                            # doctest: +SKIP
    'ya29.…'
    """

    def __init__(self, scopes: tuple[str, ...] = SCOPES) -> None:
        self._scopes = scopes
        self._credentials: Any = None
        self._unused = False  # a token was fetched and not handed out yet
        self._tokens: tuple[str, ...] = ()  # the current token and the one before, for redaction
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"ApplicationDefaultToken(scopes={self._scopes!r})"

    def __call__(self) -> str:
        """The current token; blocks to load the credentials or refresh the token when needed."""
        with self._lock:
            token = str(self._ensure().token)
            self._unused = False
            if token not in self._tokens:
                self._tokens = (token, *self._tokens[:1])
            return token

    def ready(self) -> bool:
        """True when a call will not block: the credentials are loaded and their token is valid
        (or was just fetched).

        Never does I/O and never waits for the lock, so an event loop may ask while a worker
        thread refreshes.
        """
        credentials = self._credentials
        return credentials is not None and (self._unused or bool(credentials.valid))

    def refresh(self) -> None:
        """Load the credentials and refresh the token if needed (blocking; see :meth:`ready`)."""
        with self._lock:
            self._ensure()

    def secrets(self) -> list[str]:
        """The tokens handed out lately, for redaction from error messages."""
        return list(self._tokens)

    def _ensure(self) -> Any:
        credentials = self._credentials or self._load()
        # A fetched token is handed out at least once before it is refreshed. google-auth counts a
        # token as expired 3m45s early (REFRESH_THRESHOLD); without this, a shorter-lived token
        # would be fetched twice per call: by the drivers' refresh, then again by the request build.
        if not credentials.valid and not self._unused:
            self._refresh(credentials)
            self._unused = True
        return credentials

    def _load(self) -> Any:
        try:
            import google.auth
            import google.auth.exceptions
        except ImportError:
            raise ConfigurationError(
                "vertex_ai needs an access token: pass api_key=<OAuth access token>, or install "
                "google-auth for Application Default Credentials: pip install llmplex[vertex]"
            ) from None
        try:
            credentials, _ = google.auth.default(scopes=list(self._scopes))
        except google.auth.exceptions.DefaultCredentialsError as exc:
            raise ConfigurationError(f"vertex_ai found no Google credentials: {exc}") from None
        self._credentials = credentials
        return credentials

    @staticmethod
    def _refresh(credentials: Any) -> None:
        import google.auth.exceptions
        import urllib3
        from google.auth.transport import urllib3 as transport

        request: Any = transport.Request  # untyped in google-auth
        try:
            with urllib3.PoolManager() as pool:
                credentials.refresh(request(pool))
        except google.auth.exceptions.GoogleAuthError as exc:
            raise AuthenticationError(f"vertex_ai could not refresh its Google credentials: {exc}",
                                      provider="vertex_ai") from None
