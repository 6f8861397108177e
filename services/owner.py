"""The realtime connection of one instance, held by the process that owns it.

The client's reader thread must never wait on the database, so its
callbacks only queue what happened; a writer thread applies the queue in
short transactions of its own. The writer drains everything queued before
each transaction: an isolated change is written at once, and changes that
arrive while a write is in progress are coalesced into the next one.
"""

import logging
import queue
import random
import threading
import time

from psycopg2 import errors as pg_errors

from odoo import SUPERUSER_ID, api
from odoo.modules.registry import Registry

from ..ha_client import HAClient, HAError
from ..models.ha_instance_sync import REGISTRY_ORDER, SNAPSHOT_KEYS

_logger = logging.getLogger(__name__)

REGISTRY_EVENTS = {
    "area_registry_updated": "area",
    "floor_registry_updated": "floor",
    "device_registry_updated": "device",
    "entity_registry_updated": "entity",
    "label_registry_updated": "label",
}
REGISTRY_COMMANDS = {
    "floor": "config/floor_registry/list",
    "area": "config/area_registry/list",
    "label": "config/label_registry/list",
    "device": "config/device_registry/list",
    "entity": "config/entity_registry/list",
}
# What the browser is told when a registry changed; floors belong to areas.
BUS_REGISTRY = {"floor": "area"}
# A unique violation is a conflict too: a concurrent transaction inserted the
# same entity first, and the retry sees it.
CONFLICTS = (
    pg_errors.SerializationFailure,
    pg_errors.DeadlockDetected,
    pg_errors.LockNotAvailable,
    pg_errors.UniqueViolation,
)
_STOP = object()


class InstanceOwner:
    """Owns the realtime link of ``instance_id`` in ``dbname``."""

    sync_timeout = 60.0

    def __init__(self, dbname, instance_id, url, token):
        self.dbname = dbname
        self.instance_id = instance_id
        self.client = HAClient(url, token, name=f"{dbname}/{instance_id} realtime", on_state=self._on_state)
        self._queue = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write_loop, name=f"ha-writer {dbname}/{instance_id}", daemon=True)
        self._subscribed = False
        self.synced = threading.Event()  # set after each full sync, for tests and benchmarks

    def __repr__(self):
        return f"<InstanceOwner {self.dbname}/{self.instance_id} {self.client.state}>"

    # -- control, from the supervisor ---------------------------------------

    def start(self):
        self._writer.start()
        self.client.start()
        return self

    def stop(self, timeout=10.0):
        self.client.close(timeout=timeout)
        self._queue.put(_STOP)
        self._writer.join(timeout)

    def update(self, url, token):
        self.client.update_credentials(url, token)

    def restart(self):
        self.client.reconnect()

    def request_sync(self):
        """Full sync on the writer thread: the owner stays the mirror's only writer."""
        self._queue.put(("sync", None))

    # -- reader thread: queue only -------------------------------------------

    def _on_state(self, status):
        self._queue.put(("status", status))

    def _on_event(self, event):
        self._queue.put(("event", event))

    # -- writer thread ---------------------------------------------------------

    def _write_loop(self):
        while True:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = _STOP in batch
            try:
                self._apply([item for item in batch if item is not _STOP])
            except Exception:
                _logger.exception("Home Assistant %s/%s: could not apply updates", self.dbname, self.instance_id)
            if stop:
                return

    def _apply(self, batch):
        statuses = [payload for kind, payload in batch if kind == "status"]
        events = [payload for kind, payload in batch if kind == "event"]
        if statuses:
            self._transaction(lambda instance: instance._ha_record_status(self.instance_id, statuses[-1]))
        reconnected = any(status.state == "connected" for status in statuses)
        requested = any(kind == "sync" for kind, _payload in batch)
        if (reconnected or requested) and self.client.connected:
            self._full_sync()
        states, registries = [], set()
        for event in events:
            event_type = event.get("event_type")
            if event_type == "state_changed":
                states.append(_state_of(event["data"]))
            elif event_type in REGISTRY_EVENTS:
                registries.add(REGISTRY_EVENTS[event_type])
        # In dependency order: what an entity links to is synced before it.
        for kind in [kind for kind in REGISTRY_ORDER if kind in registries]:
            self._sync_registry(kind)
        if states:
            self._transaction(lambda instance: self._apply_states(instance, states))

    def _subscribe(self):
        if self._subscribed:
            return
        for event_type in ("state_changed", *REGISTRY_EVENTS):
            self.client.subscribe_events(self._on_event, event_type)
        self._subscribed = True

    def _full_sync(self):
        """Subscribe first, then read everything: no change can fall between."""
        try:
            self._subscribe()
            snapshot = fetch_snapshot(self.client, self.sync_timeout)
        except HAError as error:
            _logger.info("Home Assistant %s/%s: full sync postponed: %s", self.dbname, self.instance_id, error)
            return
        self._transaction(lambda instance: self._apply_full_sync(instance, snapshot))
        self.synced.set()

    def _sync_registry(self, kind):
        try:
            items = self.client.call(REGISTRY_COMMANDS[kind], timeout=self.sync_timeout)
        except HAError as error:
            # The next full sync, after the reconnection, catches up.
            _logger.info(
                "Home Assistant %s/%s: %s registry not refreshed: %s", self.dbname, self.instance_id, kind, error
            )
            return

        def apply(instance):
            instance._sync_registry(kind, items)
            instance._bus_send(
                "ha_registry_updated", {"instance_id": instance.id, "registry": BUS_REGISTRY.get(kind, kind)}
            )

        self._transaction(apply)

    @staticmethod
    def _apply_full_sync(instance, snapshot):
        # States first, through the path live events take, so that what
        # changed while no connection was up reaches the browsers, once.
        # Entities new to the mirror are announced by ha_registry_updated.
        known = dict(
            instance.env["ha.entity"]
            .search([("instance_id", "=", instance.id)])
            .mapped(lambda e: (e.entity_id, e.state))
        )
        seen = {state["entity_id"] for state in snapshot["states"]}
        gone = [
            {"entity_id": e, "removed": True} for e, state in known.items() if e not in seen and state != "unavailable"
        ]
        applied = instance._sync_states(snapshot["states"] + gone)
        applied = [state for state in applied if state["entity_id"] in known]
        instance._sync_full(snapshot)
        if applied:
            instance._bus_send("ha_states_changed", {"instance_id": instance.id, "states": applied})
        for registry in ("area", "device", "entity", "label"):
            instance._bus_send("ha_registry_updated", {"instance_id": instance.id, "registry": registry})

    @staticmethod
    def _apply_states(instance, states):
        applied = instance._sync_states(states)
        if applied:
            instance._bus_send("ha_states_changed", {"instance_id": instance.id, "states": applied})

    def _transaction(self, work, attempts=5):
        """Run ``work(instance)`` in a transaction of its own, retried on conflicts."""
        for attempt in range(attempts):
            try:
                with Registry(self.dbname).cursor() as cr:
                    env = api.Environment(cr, SUPERUSER_ID, {})
                    instance = env["ha.instance"].with_context(active_test=False).browse(self.instance_id).exists()
                    if instance:
                        work(instance)
                return
            except CONFLICTS:
                if attempt == attempts - 1:
                    raise
                time.sleep(random.uniform(0.01, 0.05) * (attempt + 1))


def fetch_snapshot(client, timeout):
    """Every registry and state of an instance, in one pipelined round trip."""
    kinds = list(REGISTRY_ORDER)
    results = client.call_many(
        [{"type": REGISTRY_COMMANDS[kind]} for kind in kinds] + [{"type": "get_states"}], timeout=timeout
    )
    for result in results:
        if isinstance(result, HAError):
            raise result
    return dict(zip([SNAPSHOT_KEYS[kind] for kind in kinds] + ["states"], results, strict=True))


def _state_of(data):
    """The mirror's view of a ``state_changed`` event's new state."""
    new_state = data.get("new_state")
    if new_state is None:
        return {"entity_id": data["entity_id"], "removed": True}
    return {key: new_state.get(key) for key in ("entity_id", "state", "attributes", "last_changed", "last_updated")}
