"""A minimal REST client, only for what the WebSocket API lacks.

``GET /api/`` checks URL and token without opening a WebSocket, and
``POST /api/states/<entity_id>`` creates or overwrites an entity's state
(benchmarks create many entities with it); everything else goes through
:class:`~.client.HAClient`.
"""

import json
import urllib.error
import urllib.request

from .errors import HAAuthInvalid, HACommandError, HATimeout, HAUnreachable
from .transport import ssl_context
from .urls import base_url, rest_url


class HARest:
    """Blocking calls to Home Assistant's REST API; safe to share between threads."""

    def __init__(self, url, token, timeout=10.0, verify_ssl=True):
        self.url = base_url(url)
        self._token = token
        self.timeout = timeout
        self._opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ssl_context(verify_ssl)))

    def __repr__(self):
        return f"<HARest {self.url}>"

    def request(self, method, path, payload=None):
        """Send a request to ``path`` (``/api/...``); returns the decoded JSON answer."""
        headers = {"Authorization": f"Bearer {self._token}", "Accept": "application/json"}
        data = None
        if payload is not None:
            data = json.dumps(payload).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(rest_url(self.url, path), data=data, headers=headers, method=method)
        what = f"{method} {path}"
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                body = response.read()
        except urllib.error.HTTPError as err:
            detail = err.read(500).decode("utf-8", "replace")
            if err.code == 401:
                raise HAAuthInvalid(f"{self.url}: Home Assistant rejected the access token", "HTTP 401") from None
            raise HACommandError(f"http_{err.code}", f"{what}: HTTP {err.code} {detail}".strip()) from None
        except TimeoutError:
            raise HATimeout(f"{what}: no answer from {self.url} within {self.timeout:g} s") from None
        except urllib.error.URLError as err:
            if isinstance(err.reason, TimeoutError):
                raise HATimeout(f"{what}: no answer from {self.url} within {self.timeout:g} s") from None
            raise HAUnreachable(f"{self.url}: {err.reason}", str(err.reason)) from None
        except OSError as err:
            raise HAUnreachable(f"{self.url}: {err}", str(err)) from None
        return json.loads(body) if body else None

    def api_status(self):
        """``GET /api/``: ``{"message": "API running."}`` when URL and token are good."""
        return self.request("GET", "/api/")

    def set_state(self, entity_id, state, attributes=None):
        """Create or overwrite the state of ``entity_id``; returns the new state object."""
        return self.request("POST", f"/api/states/{entity_id}", {"state": state, "attributes": attributes or {}})

    def delete_state(self, entity_id):
        """Remove a state created by :meth:`set_state`."""
        return self.request("DELETE", f"/api/states/{entity_id}")
