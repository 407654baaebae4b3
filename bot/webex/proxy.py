"""Which proxy a Webex call goes through: HTTPS_PROXY / HTTP_PROXY / NO_PROXY, read once."""

from __future__ import annotations

import urllib.request
from urllib.parse import urlsplit


def environ_proxy(url: str) -> str | None:
    """The proxy HTTPS_PROXY / HTTP_PROXY names for `url`, unless NO_PROXY exempts its host.

    Read once, when a client is built: aiohttp's `trust_env` would read the environment, and
    ~/.netrc in a thread, on every request."""
    parts = urlsplit(url)
    if parts.hostname and urllib.request.proxy_bypass(parts.hostname):
        return None
    return urllib.request.getproxies().get(parts.scheme)
