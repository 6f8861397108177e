import json
import time

from odoo.tests import HttpCase, tagged

from ..services.supervisor import DatabaseSupervisor
from .common import HACommon


@tagged("post_install", "-at_install")
class TestSupervisor(HACommon, HttpCase):
    """The realtime owners against the real peers.

    HttpCase puts the registry in test mode: the supervisors' cursors share
    this test's transaction, so they see its instances and the test sees
    what they write, all rolled back at the end. While supervisors run, the
    test reads only through ``read()`` (which takes the test cursor's lock)
    and uses record ids, never lazily loaded fields.
    """

    def start_supervisor(self):
        supervisor = DatabaseSupervisor(self.env.cr.dbname, refresh_interval=0.2).start()
        self.addCleanup(supervisor.stop)
        return supervisor

    def wait_for(self, predicate, timeout=30, message="condition not reached"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail(f"{message} within {timeout} s")

    def read(self, query, params=()):
        # Through a registry cursor: it takes the test lock, so reads never
        # interleave with a supervisor's transaction.
        with self.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def state_of(self, instance):
        return self.read("SELECT connection_state FROM ha_instance WHERE id = %s", (instance.id,))[0][0]

    def mirror_state(self, instance, entity_id):
        rows = self.read(
            "SELECT state FROM ha_entity WHERE instance_id = %s AND entity_id = %s", (instance.id, entity_id)
        )
        return rows[0][0] if rows else None

    def wait_connected(self, *instances, timeout=30):
        for instance in instances:
            self.wait_for(
                lambda instance=instance: self.state_of(instance) == "connected",
                timeout,
                f"instance {instance.id} connected",
            )

    def bus_messages(self, instance, notification_type):
        channel = json.dumps([self.env.cr.dbname, "ha.instance", instance.id], separators=(",", ":"))
        rows = self.read("SELECT message FROM bus_bus WHERE channel = %s ORDER BY id", (channel,))
        messages = [json.loads(row[0]) for row in rows]
        return [message["payload"] for message in messages if message["type"] == notification_type]

    def test_one_owner_per_instance_and_takeover(self):
        first = self.start_supervisor()
        self.wait_for(lambda: set(first.owners) == {self.instance_a.id, self.instance_b.id}, message="first owns")
        self.wait_connected(self.instance_a, self.instance_b)
        second = self.start_supervisor()
        time.sleep(1.0)  # several refreshes of the second supervisor
        self.assertEqual(second.owners, {}, "an instance has exactly one owner")
        first.stop()
        self.wait_for(
            lambda: set(second.owners) == {self.instance_a.id, self.instance_b.id}, 10, "the second takes over"
        )
        self.wait_connected(self.instance_a, self.instance_b)

    def test_state_changes_reach_the_mirror_and_the_bus(self):
        self.start_supervisor()
        self.wait_connected(self.instance_a, self.instance_b)
        self.wait_for(lambda: self.mirror_state(self.instance_a, "light.bed_light") is not None, message="synced")
        before = self.peer_a.rest("GET", "/api/states/light.bed_light")["state"]
        expected = "off" if before == "on" else "on"
        self.peer_a.rest("POST", "/api/services/light/toggle", json={"entity_id": "light.bed_light"})
        self.wait_for(lambda: self.mirror_state(self.instance_a, "light.bed_light") == expected, 10, "mirror")
        changes = [
            state
            for payload in self.bus_messages(self.instance_a, "ha_states_changed")
            for state in payload["states"]
            if state["entity_id"] == "light.bed_light"
        ]
        self.assertEqual(changes[-1]["state"], expected)
        self.assertEqual(set(changes[-1]), {"entity_id", "state", "attributes", "last_changed", "last_updated"})
        self.assertFalse(
            [
                s
                for p in self.bus_messages(self.instance_b, "ha_states_changed")
                for s in p["states"]
                if s["entity_id"] == "light.bed_light"
            ],
            "Alpha's change is not sent on Beta's channel",
        )
        statuses = self.bus_messages(self.instance_a, "ha_connection_status")
        self.assertEqual(statuses[-1]["connection_state"], "connected")
        self.assertNotIn(self.peer_a.token, json.dumps(statuses))

    def test_restart_token_change_and_archive(self):
        supervisor = self.start_supervisor()
        self.wait_connected(self.instance_a, self.instance_b)
        owner = supervisor.owners[self.instance_b.id]
        connections = owner.client.stats["connections"]
        supervisor.handle_control(
            json.dumps(
                {"db": self.env.cr.dbname, "instance_id": self.instance_b.id, "action": "restart", "force": True}
            )
        )
        self.wait_for(lambda: owner.client.stats["connections"] == connections + 1, 10, "reconnected")
        self.wait_connected(self.instance_b)

        with self.registry.cursor() as cr:
            cr.execute("UPDATE ha_instance SET api_token = 'wrong' WHERE id = %s", (self.instance_b.id,))
        self.wait_for(lambda: self.state_of(self.instance_b) == "auth_failed", 10, "auth_failed")
        self.assertIs(supervisor.owners[self.instance_b.id], owner, "the owner is kept, not restarted")

        with self.registry.cursor() as cr:
            env = self.env(cr=cr)
            env["ha.instance"].browse(self.instance_a.id).active = False
            env.flush_all()
        self.wait_for(lambda: self.instance_a.id not in supervisor.owners, 10, "released")
        self.assertEqual(self.state_of(self.instance_a), "disabled")

    def test_registry_events_update_the_mirror(self):
        self.start_supervisor()
        self.wait_connected(self.instance_a)
        self.wait_for(lambda: self.mirror_state(self.instance_a, "light.bed_light") is not None, message="synced")
        device = self.peer_a.ws_call("config/device_registry/list")[0]
        area = self.peer_a.ws_call("config/area_registry/create", name="Odoo Test Attic")
        try:
            self.wait_for(
                lambda: (
                    self.read(
                        "SELECT name FROM ha_area WHERE instance_id = %s AND area_id = %s",
                        (self.instance_a.id, area["area_id"]),
                    )
                    == [("Odoo Test Attic",)]
                ),
                10,
                "area created in Home Assistant mirrored",
            )
            self.peer_a.ws_call("config/device_registry/update", device_id=device["id"], name_by_user="Odoo Renamed")
            self.wait_for(
                lambda: (
                    self.read(
                        "SELECT name FROM ha_device WHERE instance_id = %s AND device_id = %s",
                        (self.instance_a.id, device["id"]),
                    )
                    == [("Odoo Renamed",)]
                ),
                10,
                "device renamed in Home Assistant mirrored",
            )
        finally:
            self.peer_a.ws_call("config/device_registry/update", device_id=device["id"], name_by_user=None)
            self.peer_a.ws_call("config/area_registry/delete", area_id=area["area_id"])
        self.wait_for(
            lambda: (
                not self.read(
                    "SELECT 1 FROM ha_area WHERE instance_id = %s AND area_id = %s",
                    (self.instance_a.id, area["area_id"]),
                )
            ),
            10,
            "area deleted in Home Assistant removed",
        )
        registries = {payload["registry"] for payload in self.bus_messages(self.instance_a, "ha_registry_updated")}
        self.assertLessEqual({"area", "device"}, registries)

    def test_reconnect_after_restart_resyncs_the_mirror(self):
        self.start_supervisor()
        self.wait_connected(self.instance_a)
        self.wait_for(lambda: self.mirror_state(self.instance_a, "light.bed_light") is not None, message="synced")
        # A state that exists only until Home Assistant restarts.
        self.peer_a.rest("POST", "/api/states/sensor.odoo_ephemeral", json={"state": "42"})
        self.wait_for(lambda: self.mirror_state(self.instance_a, "sensor.odoo_ephemeral") == "42", 10, "ephemeral")
        try:
            self.assertTrue(self.peer_a.stop())
            self.wait_for(lambda: self.state_of(self.instance_a) != "connected", 30, "drop noticed")
        finally:
            self.peer_a.start()
        self.wait_connected(self.instance_a, timeout=60)
        self.wait_for(
            lambda: self.mirror_state(self.instance_a, "sensor.odoo_ephemeral") in (None, "unavailable"),
            30,
            "resynced",
        )
        # What changed while the link was down reached the browsers too.
        self.assertIn(
            {"entity_id": "sensor.odoo_ephemeral", "state": "unavailable"},
            [
                {"entity_id": state["entity_id"], "state": state["state"]}
                for payload in self.bus_messages(self.instance_a, "ha_states_changed")
                for state in payload["states"]
            ],
        )
        ha_states = {state["entity_id"]: state["state"] for state in self.peer_a.ws_call("get_states")}
        rows = self.read(
            "SELECT entity_id, state FROM ha_entity WHERE instance_id = %s AND state != 'unavailable'",
            (self.instance_a.id,),
        )
        mirror = dict(rows)
        self.assertEqual({key: value for key, value in ha_states.items() if value != "unavailable"}, mirror)
