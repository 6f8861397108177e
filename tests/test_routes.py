import json

from odoo.tests import HttpCase, tagged

from .common import HACommon, RouteMixin

ROUTES = ["instances", "current_instance", "switch_instance", "check_access"]


@tagged("post_install", "-at_install")
class TestRoutes(RouteMixin, HACommon, HttpCase):
    """The JSON routes over real HTTP, with real sessions, for every role."""

    # -- manager and admin -------------------------------------------------
    def test_manager_sees_and_switches_everything(self):
        for user in (self.admin, self.manager):
            with self.subTest(user=user.login):
                self.login(user)
                data = self.ok("instances")
                self.assertEqual(
                    data["instances"],
                    [
                        {
                            "id": self.instance_a.id,
                            "name": "Alpha",
                            "connection_state": "disconnected",
                            "ha_version": None,
                            "is_current": True,
                        },
                        {
                            "id": self.instance_b.id,
                            "name": "Beta",
                            "connection_state": "disconnected",
                            "ha_version": None,
                            "is_current": False,
                        },
                    ],
                )
                self.assertEqual(data["current_instance_id"], self.instance_a.id)
                self.assertEqual(
                    self.ok("current_instance"),
                    {"instance_id": self.instance_a.id, "instance_name": "Alpha", "source": "first_accessible"},
                )
                self.assertEqual(
                    self.ok("switch_instance", instance_id=self.instance_b.id),
                    {"instance_id": self.instance_b.id, "instance_name": "Beta"},
                )
                self.assertEqual(self.ok("current_instance")["source"], "session")
                self.assertEqual(self.ok("current_instance")["instance_id"], self.instance_b.id)
                self.assertTrue(self.ok("check_access", operation="manage")["allowed"])
                self.assertTrue(
                    self.ok("check_access", operation="control", ha_instance_id=self.instance_a.id)["allowed"]
                )

    # -- HA users ----------------------------------------------------------
    def test_user_on_a_only(self):
        self.login(self.user_a)
        data = self.ok("instances")
        self.assertEqual([i["id"] for i in data["instances"]], [self.instance_a.id])
        self.assertEqual(self.ok("current_instance")["instance_id"], self.instance_a.id)
        self.fails("switch_instance", "access_denied", instance_id=self.instance_b.id)
        self.fails("current_instance", "access_denied", ha_instance_id=self.instance_b.id)
        self.assertEqual(self.ok("switch_instance", instance_id=self.instance_a.id)["instance_id"], self.instance_a.id)
        self.assertTrue(self.ok("check_access", operation="read")["allowed"])
        self.assertTrue(self.ok("check_access", operation="control")["allowed"])
        manage = self.ok("check_access", operation="manage")
        self.assertFalse(manage["allowed"])
        self.assertTrue(manage["reason"])
        denied = self.ok("check_access", operation="read", ha_instance_id=self.instance_b.id)
        self.assertFalse(denied["allowed"])

    def test_user_listed_nowhere_sees_only_open_instances(self):
        self.login(self.user_open)
        self.assertEqual(self.ok("instances"), {"instances": [], "current_instance_id": None})
        self.fails("current_instance", "no_instance")
        self.fails("switch_instance", "access_denied", instance_id=self.instance_a.id)
        self.assertFalse(self.ok("check_access", operation="read")["allowed"])
        self.instance_b.user_ids = False
        self.assertEqual([i["id"] for i in self.ok("instances")["instances"]], [self.instance_b.id])
        self.assertEqual(self.ok("current_instance")["instance_id"], self.instance_b.id)
        self.assertEqual(self.ok("switch_instance", instance_id=self.instance_b.id)["instance_id"], self.instance_b.id)

    def test_entity_access(self):
        self.env["ha.entity"].create({"instance_id": self.instance_a.id, "entity_id": "light.kitchen_lights"})
        self.env["ha.entity"].create({"instance_id": self.instance_b.id, "entity_id": "light.office"})
        self.login(self.user_a)
        self.assertTrue(self.ok("check_access", operation="control", entity_id="light.kitchen_lights")["allowed"])
        self.assertFalse(self.ok("check_access", operation="control", entity_id="light.office")["allowed"])
        self.assertFalse(
            self.ok("check_access", operation="read", entity_id="light.office", ha_instance_id=self.instance_b.id)[
                "allowed"
            ]
        )

    # -- everyone else -----------------------------------------------------
    def test_non_ha_users_get_nothing(self):
        for user in (self.internal, self.portal):
            with self.subTest(user=user.login):
                self.login(user)
                self.fails("instances", "access_denied")
                self.fails("current_instance", "access_denied")
                self.fails("current_instance", "access_denied", ha_instance_id=self.instance_a.id)
                self.fails("switch_instance", "access_denied", instance_id=self.instance_a.id)
                self.fails("check_access", "access_denied", operation="read")
        self.assertFalse(self.internal.current_ha_instance_id)

    def test_public_user_is_refused_by_odoo(self):
        self.authenticate(None, None)
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": {}})
        for route in ROUTES:
            response = self.url_open(f"/odoo_ha_addon/{route}", data=body, headers={"Content-Type": "application/json"})
            error = response.json()["error"]
            self.assertEqual(error["data"]["name"], "odoo.http.SessionExpiredException", route)

    # -- sessions ----------------------------------------------------------
    def test_switch_is_per_session_and_user(self):
        self.login(self.user_both)
        self.ok("switch_instance", instance_id=self.instance_b.id)
        self.assertEqual(self.user_both.current_ha_instance_id, self.instance_b)
        self.assertEqual(self.stored_session()["current_ha_instance_id"], self.instance_b.id)
        self.login(self.manager)
        self.assertEqual(
            self.ok("current_instance"),
            {"instance_id": self.instance_a.id, "instance_name": "Alpha", "source": "first_accessible"},
        )
        self.assertFalse(self.manager.current_ha_instance_id)
        self.assertNotIn("current_ha_instance_id", self.stored_session())

    def test_new_session_uses_the_preference(self):
        self.login(self.user_both)
        self.ok("switch_instance", instance_id=self.instance_b.id)
        self.login(self.user_both)
        self.assertEqual(
            self.ok("current_instance"),
            {"instance_id": self.instance_b.id, "instance_name": "Beta", "source": "user_preference"},
        )

    def test_explicit_instance_does_not_touch_the_session(self):
        self.login(self.user_both)
        self.ok("switch_instance", instance_id=self.instance_a.id)
        data = self.ok("current_instance", ha_instance_id=self.instance_b.id)
        self.assertEqual((data["instance_id"], data["source"]), (self.instance_b.id, "explicit"))
        self.assertEqual(self.ok("current_instance")["instance_id"], self.instance_a.id)
        self.assertEqual(self.stored_session()["current_ha_instance_id"], self.instance_a.id)

    def test_stale_session_falls_back_over_http(self):
        self.login(self.user_both)
        self.ok("switch_instance", instance_id=self.instance_b.id)
        self.instance_b.active = False
        data = self.ok("instances")
        self.assertEqual(data["current_instance_id"], self.instance_a.id)
        self.assertEqual([i["id"] for i in data["instances"]], [self.instance_a.id])
        self.assertNotIn("current_ha_instance_id", self.stored_session())

    # -- bad input ---------------------------------------------------------
    def test_bad_input(self):
        self.login(self.manager)
        for value in ["1", -1, 0, 2**31, 10**30, 1.5, True, None, [], {}]:
            with self.subTest(instance_id=value):
                self.fails("switch_instance", "invalid_params", instance_id=value)
            if value is not None:
                with self.subTest(ha_instance_id=value):
                    self.fails("current_instance", "invalid_params", ha_instance_id=value)
        self.fails("switch_instance", "invalid_params")
        self.fails("switch_instance", "access_denied", instance_id=2**31 - 1)
        self.fails("instances", "invalid_params", ha_instance_id=self.instance_a.id)
        self.fails("instances", "invalid_params", surprise=1)
        self.fails("check_access", "invalid_params")
        self.fails("check_access", "invalid_params", operation="delete")
        self.fails("check_access", "invalid_params", operation="read", entity_id="not an entity")
        self.fails("check_access", "invalid_params", operation="read", entity_id="x" * 300)
        self.fails("check_access", "invalid_params", operation=["read"])
        self.assertFalse(self.manager.current_ha_instance_id, "failed calls wrote nothing")
