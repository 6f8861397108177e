"""Turn the base URL a user types into the URLs the client talks to."""

from urllib.parse import quote, urlsplit, urlunsplit

_WS_SCHEMES = {"http": "ws", "https": "wss"}


def base_url(url):
    """Validate ``http(s)://host[:port][/path]`` and return it without a trailing slash.

    Raises :class:`ValueError` for any other scheme, a missing host, embedded
    credentials, a query or a fragment: a token belongs in the token field,
    and anything else would be silently dropped.
    """
    if not isinstance(url, str):
        raise ValueError("the Home Assistant URL must be a string")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in _WS_SCHEMES:
        raise ValueError(f"the Home Assistant URL must start with http:// or https://, not {url!r}")
    if not parts.hostname:
        raise ValueError(f"the Home Assistant URL has no host: {url!r}")
    if parts.username or parts.password:
        raise ValueError("the Home Assistant URL must not contain a user name or password")
    if parts.query or parts.fragment:
        raise ValueError(f"the Home Assistant URL must not have a query or fragment: {url!r}")
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError:
        raise ValueError(f"the Home Assistant URL has an invalid port: {url!r}") from None
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))


def websocket_url(url):
    """``http(s)://host[:port][/path]`` -> ``ws(s)://host[:port][/path]/api/websocket``."""
    parts = urlsplit(base_url(url))
    return urlunsplit((_WS_SCHEMES[parts.scheme], parts.netloc, parts.path + "/api/websocket", "", ""))


def rest_url(url, path):
    """The REST API URL of ``path`` (``/api/...``) under the base URL."""
    return base_url(url) + quote(path)
