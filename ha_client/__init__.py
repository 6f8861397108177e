"""Home Assistant WebSocket client, plain Python (no Odoo import).

::

    client = HAClient(url, token, on_state=print).start()
    client.wait_connected(10)
    states = client.call("get_states")
    results = client.call_many([service_message("light", "toggle", target=...), ...], timeout=30)
    sub = client.subscribe_events(callback, "state_changed")  # callback(event) on the reader thread
    client.close()

    probe(url, token, timeout=10)  # the "Test connection" button

Imports inside the package are relative, so it works both as ``ha_client``
and as ``odoo.addons.odoo_ha_addon.ha_client``.
"""

from .client import HAClient, State, Status, backoff_delay
from .commands import CallFuture, Subscription, service_message
from .errors import (
    HAAuthInvalid,
    HACommandError,
    HAError,
    HANotHomeAssistant,
    HAProbeError,
    HAProbeTimeout,
    HATimeout,
    HAUnavailable,
    HAUnreachable,
)
from .rest import HARest
from .transport import DEFAULT_MAX_FRAME_SIZE, probe
from .urls import base_url, rest_url, websocket_url

__all__ = [
    "DEFAULT_MAX_FRAME_SIZE",
    "CallFuture",
    "HAAuthInvalid",
    "HAClient",
    "HACommandError",
    "HAError",
    "HANotHomeAssistant",
    "HAProbeError",
    "HAProbeTimeout",
    "HARest",
    "HATimeout",
    "HAUnavailable",
    "HAUnreachable",
    "State",
    "Status",
    "Subscription",
    "backoff_delay",
    "base_url",
    "probe",
    "rest_url",
    "service_message",
    "websocket_url",
]
