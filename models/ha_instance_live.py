"""Live calls to Home Assistant from a request, and what the routes read.

Every call goes through :meth:`_ha_call` or :meth:`_ha_call_many`, which
turn the client's errors into the contract's error codes with a message in
the user's language.
"""

import threading

from odoo import api, fields, models
from odoo.exceptions import UserError

from ..exceptions import HAApiError
from ..ha_client import HACommandError, HAError, HATimeout, HAUnavailable
from ..services import pool
from ..services.owner import fetch_snapshot

# Home Assistant's error codes that map onto a more precise contract code.
HA_ERROR_CODES = {"not_found": "not_found", "invalid_format": "invalid_params"}
CALL_TIMEOUT = 10.0


class HAInstance(models.Model):
    _inherit = "ha.instance"

    connection_since = fields.Datetime(string="State since", readonly=True, copy=False)
    last_error = fields.Char(readonly=True, copy=False)

    def _ha_client(self):
        self.ensure_one()
        token = self.sudo().api_token
        if not token:
            raise HAApiError(self.env._("%(instance)s has no access token.", instance=self.name), "ha_unavailable")
        return pool.get_client(self.env.cr.dbname, self.id, self.api_url, token)

    def _ha_error(self, error):
        """The contract error for a client error."""
        if isinstance(error, HAUnavailable):
            return HAApiError(
                self.env._("Home Assistant %(instance)s is unavailable: %(reason)s", instance=self.name, reason=error),
                "ha_unavailable",
            )
        if isinstance(error, HATimeout):
            return HAApiError(
                self.env._("Home Assistant %(instance)s did not answer in time.", instance=self.name), "timeout"
            )
        if isinstance(error, HACommandError):
            return HAApiError(
                self.env._("Home Assistant %(instance)s: %(message)s", instance=self.name, message=error.message),
                HA_ERROR_CODES.get(error.ha_code, "ha_error"),
            )
        return HAApiError(str(error), getattr(error, "public_code", "ha_error"))

    def _ha_call(self, msg_type, /, timeout=CALL_TIMEOUT, **payload):
        try:
            return self._ha_client().call(msg_type, timeout=timeout, **payload)
        except HAError as error:
            raise self._ha_error(error) from None

    def _ha_call_many(self, messages, timeout=CALL_TIMEOUT):
        """Pipeline ``messages``; each item is a result or an :class:`HAApiError`."""
        results = self._ha_client().call_many(messages, timeout=timeout)
        return [self._ha_error(result) if isinstance(result, HAError) else result for result in results]

    def _ha_first_event(self, message, timeout=CALL_TIMEOUT):
        """The first event of a subscription, which is then cancelled.

        ``system_health/info`` sends what HA knows at once in its first
        event and streams slow checks afterwards: the first is enough.
        """
        client = self._ha_client()
        received = []
        arrived = threading.Event()

        def on_event(event):
            received.append(event)
            arrived.set()

        try:
            subscription = client.subscribe(message, on_event, timeout=timeout, resubscribe=False)
        except HAError as error:
            raise self._ha_error(error) from None
        try:
            if not arrived.wait(timeout):
                raise self._ha_error(HATimeout("no event"))
        finally:
            subscription.unsubscribe()
        return received[0]

    # -- what the routes answer ---------------------------------------------

    def _ha_config(self):
        """``get_config``, with whether the instance runs a Supervisor."""
        config = self._ha_call("get_config")
        return config, "hassio" in config.get("components", ())

    def _supervisor_get(self, endpoint):
        return self._ha_call("supervisor/api", endpoint=endpoint, method="get")

    def _core_host_info(self):
        event = self._ha_first_event({"type": "system_health/info"})
        return (event.get("data") or {}).get("homeassistant", {}).get("info", {})

    def _hardware_info(self):
        if self._ha_config()[1]:
            return {"source": "supervisor", **self._supervisor_get("/hardware/info")}
        return {
            "source": "core",
            "host": self._core_host_info(),
            "hardware": self._ha_call("hardware/info").get("hardware", []),
        }

    def _network_info(self):
        config, supervised = self._ha_config()
        if supervised:
            return {"source": "supervisor", **self._supervisor_get("/network/info")}
        host = self._core_host_info()
        return {
            "source": "core",
            "urls": self._ha_urls(),
            "internal_url": config.get("internal_url"),
            "external_url": config.get("external_url"),
            "location_name": config.get("location_name"),
            "installation_type": host.get("installation_type"),
            "docker": host.get("docker"),
        }

    def _ha_urls(self):
        urls = self._ha_call("network/url")
        return {key: urls.get(key) or None for key in ("internal", "external", "cloud")}

    def _websocket_status(self):
        self.ensure_one()
        return {
            "instance_id": self.id,
            "instance_name": self.name,
            "connection_state": self.connection_state,
            "connected": self.connection_state == "connected",
            "ha_version": self.ha_version or None,
            "since": self.connection_since and fields.Datetime.to_string(self.connection_since),
            "last_error": self.last_error or None,
        }

    @api.model
    def _ha_record_status(self, instance_id, status):
        """Store what the owner connection reports; returns whether it changed."""
        instance = self.sudo().with_context(active_test=False).browse(instance_id).exists()
        if not instance:
            return False
        closed = status.state == "closed"
        state = "disconnected" if closed else status.state
        values = {
            # An archived instance stays "disabled" whatever its last link said.
            "connection_state": state if instance.active else "disabled",
            "connection_since": status.since.replace(tzinfo=None),
            # A closed link was closed by Odoo: the previous drop's reason
            # would mislead.
            "last_error": self.env._("Odoo closed the connection.") if closed else status.last_error or False,
        }
        if status.ha_version:
            values["ha_version"] = status.ha_version
        if all(instance[key] == value for key, value in values.items() if key != "connection_since"):
            return False
        instance.write(values)
        instance._bus_send(
            "ha_connection_status",
            {
                "instance_id": instance.id,
                "connection_state": instance.connection_state,
                "ha_version": instance.ha_version or None,
                "message": instance.last_error or None,
            },
        )
        return True

    def action_sync_now(self):
        """Read everything from Home Assistant again (managers).

        A connected instance has an owner writing its mirror: it is asked to
        do the sync, so the mirror keeps a single writer. Otherwise nothing
        else writes, and the request syncs by itself.
        """
        self.check_access("write")
        for instance in self:
            if instance.connection_state == "connected":
                instance._notify_owners("sync")
            else:
                instance._sync_from_ha()
        return True

    def _sync_from_ha(self):
        self.ensure_one()
        try:
            snapshot = fetch_snapshot(self._ha_client(), timeout=60)
        except HAError as error:
            raise UserError(self._ha_error(error).message) from None
        return self._sync_full(snapshot)
