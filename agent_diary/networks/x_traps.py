"""X credentials that are the wrong kind of key: an OAuth 2.0 Client ID where the API
Key belongs, an xAI key from console.x.ai. Named by variable, never by value; used by
`doctor`, `auth` and every 401 of the X client (so it lives beside the client, below all
three)."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..auth import Credentials


def looks_like_client_id(key: str) -> bool:
    """An OAuth 2.0 Client ID base64-decodes to something ending in `:1:ci`."""
    try:
        padded = key + "=" * (-len(key) % 4)
        return base64.b64decode(padded, validate=False).decode("utf-8", "replace") \
            .endswith(":1:ci")
    except (binascii.Error, ValueError):
        return False


def traps_of(named: Mapping[str, str]) -> list[str]:
    """The traps among credentials given by variable name (X_CONSUMER_KEY, …): the one
    text for them, used by doctor, auth and every 401 of the X client. It names the
    variable, never the value."""
    problems = []
    if looks_like_client_id(named.get("X_CONSUMER_KEY", "")):
        problems.append(
            "X_CONSUMER_KEY is an OAuth 2.0 Client ID, not the app's API Key: on the app's "
            "'Keys and tokens' page use 'API Key and Secret' (Consumer Keys)")
    for name, value in named.items():
        if value.startswith("xai-"):
            problems.append(
                f"{name} is an xAI (Grok API) key from console.x.ai, a different product "
                "from X's developer platform; get X keys at console.x.com")
    return problems


def credential_traps(credentials: Credentials) -> list[str]:
    return traps_of({"X_CONSUMER_KEY": credentials.consumer_key,
                     "X_CONSUMER_SECRET": credentials.consumer_secret,
                     "X_ACCESS_TOKEN": credentials.access_token,
                     "X_ACCESS_TOKEN_SECRET": credentials.access_token_secret})
