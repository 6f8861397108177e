import json

from odoo.addons.bus.tests.common import WebsocketCase
from odoo.tests import TransactionCase, new_test_user, tagged

from .common import HACommon

PAYLOAD = {
    "states": [
        {
            "entity_id": "light.kitchen_lights",
            "state": "on",
            "attributes": {},
            "last_changed": "2026-01-01T00:00:00+00:00",
            "last_updated": "2026-01-01T00:00:00+00:00",
        }
    ]
}


@tagged("post_install", "-at_install")
class TestBusChannelList(HACommon, TransactionCase):
    """Which instance channels each role is given, server-side."""

    def instance_channels(self, user):
        # The rest of _build_bus_channel_list needs a live request: the
        # websocket tests below go through it for real.
        return set(self.env["ir.websocket"].with_user(user)._ha_bus_channels())

    def test_channels_follow_the_record_rules(self):
        both = self.instance_a | self.instance_b
        self.assertEqual(self.instance_channels(self.manager), set(both))
        self.assertEqual(self.instance_channels(self.user_both), set(both))
        self.assertEqual(self.instance_channels(self.user_a), {self.instance_a})
        self.assertEqual(self.instance_channels(self.user_open), set())
        self.assertEqual(self.instance_channels(self.internal), set())
        self.assertEqual(self.instance_channels(self.portal), set())
        self.instance_b.user_ids = False
        self.assertEqual(self.instance_channels(self.user_open), {self.instance_b})


@tagged("post_install", "-at_install")
class TestBusDelivery(HACommon, WebsocketCase):
    """Real websockets: a notification on an instance reaches exactly its users."""

    def connect(self, user):
        self.authenticate(user.login, user.login)
        websocket = self.websocket_connect(cookie=f"session_id={self.session.sid}")
        # A client can only name channels as strings: try to reach Alpha's.
        self.subscribe(
            websocket, ["ha.instance", f"ha.instance,{self.instance_a.id}"], self.env["bus.bus"]._bus_last_id()
        )
        return websocket

    def send_states(self, instance):
        instance._bus_send("ha_states_changed", {"instance_id": instance.id, **PAYLOAD})
        self.trigger_notification_dispatching([instance])

    def test_allowed_user_receives_the_states(self):
        websocket = self.connect(self.user_a)
        self.send_states(self.instance_a)
        notifications = json.loads(websocket.recv())
        self.assertEqual(
            [(n["message"]["type"], n["message"]["payload"]) for n in notifications],
            [("ha_states_changed", {"instance_id": self.instance_a.id, **PAYLOAD})],
        )

    def test_user_of_the_other_instance_receives_nothing(self):
        user_b = new_test_user(self.env, "ha_user_b", groups="odoo_ha_addon.group_ha_user")
        self.instance_b.user_ids = [(4, user_b.id)]
        websocket = self.connect(user_b)
        self.send_states(self.instance_a)
        self.send_states(self.instance_b)
        notifications = json.loads(websocket.recv())
        self.assertEqual([n["message"]["payload"]["instance_id"] for n in notifications], [self.instance_b.id])

    def test_user_without_access_cannot_subscribe(self):
        for user in (self.internal, self.user_open):
            with self.subTest(user=user.login):
                websocket = self.connect(user)
                self.send_states(self.instance_a)
                user.partner_id._bus_send("probe", {})
                self.trigger_notification_dispatching([user.partner_id])
                notifications = json.loads(websocket.recv())
                self.assertEqual([n["message"]["type"] for n in notifications], ["probe"])
