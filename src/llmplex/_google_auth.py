"""OAuth access tokens for Vertex AI from Google Application Default Credentials.

Only used when a ``vertex_ai`` call has no ``api_key`` (a static access token). Needs the optional
``google-auth`` package (``pip install llmplex[vertex]``), imported on first use. Tokens are
refreshed when they are about to expire; the refresh is a blocking HTTPS call made by google-auth
through urllib3, once an hour or so.
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
        self._lock = threading.Lock()

    def __call__(self) -> str:
        with self._lock:
            credentials = self._credentials or self._load()
            if not credentials.valid:
                self._refresh(credentials)
            return str(credentials.token)

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
        from google.auth.transport.urllib3 import Request

        try:
            credentials.refresh(Request(urllib3.PoolManager()))
        except google.auth.exceptions.GoogleAuthError as exc:
            raise AuthenticationError(f"vertex_ai could not refresh its Google credentials: {exc}",
                                      provider="vertex_ai") from None
