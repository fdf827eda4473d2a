"""Azure OpenAI: the OpenAI protocol with deployment URLs, ``api-version`` and Azure auth.

Two URL styles (https://learn.microsoft.com/azure/ai-services/openai/reference):
- classic: ``{endpoint}/openai/deployments/{deployment}/{operation}?api-version=…`` — the model
  part of ``azure/<deployment>`` names the deployment;
- v1: a ``base_url`` ending in ``/openai/v1`` takes plain OpenAI paths and no ``api-version``.
Auth: the ``api-key`` header, or ``Authorization: Bearer`` with an Entra ID token
(``azure_ad_token`` setting / ``AZURE_OPENAI_AD_TOKEN``).
"""

from __future__ import annotations

from urllib.parse import quote

from .._requests import CallSettings
from .._types import Secret
from .openai import OpenAIAdapter

__all__ = ["DEFAULT_API_VERSION", "AzureOpenAIAdapter"]

DEFAULT_API_VERSION = "2024-10-21"
"""The latest GA data-plane API version at the time of writing; override with ``api_version``."""


class AzureOpenAIAdapter(OpenAIAdapter):
    """OpenAI adapter with Azure's URL scheme and credentials."""

    def endpoint_url(self, path: str, model: str, cfg: CallSettings) -> str:
        """Deployment URL with ``api-version``, or a plain path under an ``/openai/v1`` base."""
        base = cfg.base_url.rstrip("/")
        if base.endswith("/openai/v1") or "/deployments/" in base:
            url = f"{base}/{path}"
            if "/deployments/" not in base:
                return url
        else:
            url = f"{base}/openai/deployments/{quote(model, safe='')}/{path}"
        version = cfg.options.get("api_version") or DEFAULT_API_VERSION
        return f"{url}?api-version={quote(str(version), safe='')}"

    def auth_headers(self, cfg: CallSettings) -> dict[str, str]:
        """An Entra ID token wins over the key, as in Azure's own SDKs."""
        token = cfg.options.get("azure_ad_token")
        if isinstance(token, Secret) and token:
            return {"authorization": f"Bearer {token.reveal()}"}
        if isinstance(token, str) and token:
            return {"authorization": f"Bearer {token}"}
        return super().auth_headers(cfg)
