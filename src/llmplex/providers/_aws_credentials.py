"""AWS credentials and region for Bedrock: from provider options, or from the shared profile files.

Where they come from, first found wins (the order of the AWS SDKs' default chain, without the
network-based providers — instance metadata, SSO, ``credential_process`` are not read):

1. the provider options ``aws_access_key_id`` / ``aws_secret_access_key`` / ``aws_session_token``
   (set from ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_SESSION_TOKEN``, YAML or the
   constructor);
2. the profile (``aws_profile`` / ``AWS_PROFILE``, else ``default``) in the shared credentials file
   (``aws_shared_credentials_file`` / ``AWS_SHARED_CREDENTIALS_FILE``, else ``~/.aws/credentials``),
   then in the config file (``aws_config_file`` / ``AWS_CONFIG_FILE``, else ``~/.aws/config``,
   where the section is ``[profile NAME]``, except ``[default]``).

The region: option ``region`` (``AWS_REGION`` / ``AWS_DEFAULT_REGION``), else the profile's
``region`` in the config file, else ``us-east-1``.

Parsing (:func:`parse_profile`) is pure; :class:`ProfileFiles` reads the two files, once per
change of their modification time.
"""

from __future__ import annotations

import configparser
import os
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from .._types import Secret

__all__ = [
    "DEFAULT_REGION",
    "AwsCredentials",
    "Profile",
    "ProfileFiles",
    "credentials_from_options",
    "parse_profile",
]

DEFAULT_REGION = "us-east-1"


@dataclass(frozen=True, slots=True)
class AwsCredentials:
    """An access key pair, with the session token of temporary credentials. The secret parts are
    :class:`~llmplex.Secret` s, so the object prints no credential."""

    access_key_id: str
    secret_access_key: Secret
    session_token: Secret | None = None
    source: str = "options"

    def secrets(self) -> list[str]:
        """The secret values, for redaction."""
        found = [self.secret_access_key.reveal()]
        if self.session_token:
            found.append(self.session_token.reveal())
        return [s for s in found if s]


@dataclass(frozen=True, slots=True)
class Profile:
    """What one named profile of the shared files holds."""

    credentials: AwsCredentials | None = None
    region: str | None = None


def _secret(value: object) -> Secret | None:
    if isinstance(value, Secret):
        return value if value else None
    if isinstance(value, str) and value:
        return Secret(value)
    return None


def credentials_from_options(options: Mapping[str, object]) -> AwsCredentials | None:
    """The key pair given as provider options, or ``None`` when either half is missing."""
    key_id = options.get("aws_access_key_id")
    secret = _secret(options.get("aws_secret_access_key"))
    if not isinstance(key_id, str) or not key_id or secret is None:
        return None
    return AwsCredentials(key_id, secret, _secret(options.get("aws_session_token")), "options")


def _section(parser: configparser.ConfigParser, name: str) -> Mapping[str, str] | None:
    return parser[name] if parser.has_section(name) else None


def _read(text: str, where: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00none")
    try:
        parser.read_string(text, source=where)
    except configparser.Error:
        return configparser.ConfigParser(interpolation=None)  # an unreadable file holds nothing
    return parser


def parse_profile(credentials_text: str, config_text: str, profile: str) -> Profile:
    """The credentials and region of ``profile`` in the texts of the two shared files.

    >>> parse_profile("[dev]\\naws_access_key_id = AKID\\naws_secret_access_key = s3cret\\n",
    ...               "[profile dev]\\nregion = eu-west-3\\n", "dev").region
    'eu-west-3'
    """
    creds = _section(_read(credentials_text, "credentials"), profile)
    config = _section(_read(config_text, "config"), profile if profile == "default" else f"profile {profile}")
    found: AwsCredentials | None = None
    for source, section in (("credentials file", creds), ("config file", config)):
        if section is None:
            continue
        key_id = section.get("aws_access_key_id", "").strip()
        secret = section.get("aws_secret_access_key", "").strip()
        if key_id and secret:
            token = section.get("aws_session_token", "").strip() or section.get("aws_security_token", "").strip()
            found = AwsCredentials(key_id, Secret(secret), Secret(token) if token else None,
                                   f"profile {profile!r} ({source})")
            break
    region = config.get("region", "").strip() if config is not None else ""
    return Profile(found, region or None)


class ProfileFiles:
    """Reads a profile from the shared files, again only when a file changed. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, str, str], tuple[tuple[float, float], Profile]] = {}

    def load(self, profile: str | None, credentials_file: str | None, config_file: str | None) -> Profile:
        """The named profile (``default`` when None); missing files count as empty."""
        name = profile or "default"
        creds_path = Path(credentials_file or "~/.aws/credentials").expanduser()
        config_path = Path(config_file or "~/.aws/config").expanduser()
        key = (name, str(creds_path), str(config_path))
        stamp = (_mtime(creds_path), _mtime(config_path))
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == stamp:
                return cached[1]
        found = parse_profile(_text(creds_path), _text(config_path), name)
        with self._lock:
            self._cache[key] = (stamp, found)
        return found


def _mtime(path: Path) -> float:
    try:
        return os.stat(path).st_mtime
    except OSError:
        return -1.0


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return ""
