import time

from odoo.tests import HttpCase, tagged

from .common import HACommon, RouteMixin, free_port


@tagged("post_install", "-at_install")
class TestLiveRoutes(RouteMixin, HACommon, HttpCase):
    """The Home Assistant routes against the two real peers."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.instance_a | cls.instance_b).action_sync_now()

    def peer_state(self, peer, entity_id):
        return peer.rest("GET", f"/api/states/{entity_id}")["state"]

    def wait_peer_state(self, peer, entity_id, expected, timeout=10):
        deadline = time.monotonic() + timeout
        while self.peer_state(peer, entity_id) != expected and time.monotonic() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.peer_state(peer, entity_id), expected)

    # -- reads -------------------------------------------------------------
    def test_host_routes_on_both_peers_in_one_session(self):
        self.login(self.user_both)
        self.ok("switch_instance", instance_id=self.instance_a.id)
        for instance, peer in ((self.instance_a, self.peer_a), (self.instance_b, self.peer_b)):
            with self.subTest(instance=instance.name):
                hardware = self.ok("hardware_info", ha_instance_id=instance.id)
                self.assertEqual(hardware["source"], "core")
                self.assertTrue(hardware["host"]["python_version"].startswith("3.13"))
                self.assertIn("installation_type", hardware["host"])
                network = self.ok("network_info", ha_instance_id=instance.id)
                self.assertEqual(network["location_name"], peer.name)
                self.assertEqual(network["urls"], self.ok("ha_urls", ha_instance_id=instance.id))
                urls = self.ok("ha_urls", ha_instance_id=instance.id)
                self.assertEqual(set(urls), {"internal", "external", "cloud"})
                self.assertTrue(urls["internal"].endswith(f":{peer.port}"))
        # The session instance was never changed by the explicit calls.
        self.assertEqual(self.ok("network_info")["location_name"], self.peer_a.name)

    def test_areas_and_entities_come_from_the_right_instance(self):
        self.login(self.user_both)
        areas_a = self.ok("areas", ha_instance_id=self.instance_a.id)["areas"]
        areas_b = self.ok("areas", ha_instance_id=self.instance_b.id)["areas"]
        expected_a = {area["area_id"] for area in self.peer_a.ws_call("config/area_registry/list")}
        self.assertEqual({area["area_id"] for area in areas_a}, expected_a)
        self.assertIn("kitchen", expected_a)
        self.assertNotIn("kitchen", {area["area_id"] for area in areas_b})
        kitchen = next(area for area in areas_a if area["area_id"] == "kitchen")
        data = self.ok("entities_by_area", area_id="kitchen", ha_instance_id=self.instance_a.id)
        self.assertEqual(data["area_id"], "kitchen")
        self.assertEqual(len(data["entities"]), kitchen["entity_count"])
        lights = {entity["entity_id"]: entity for entity in data["entities"]}
        light = lights["light.kitchen_lights"]
        self.assertEqual(light["domain"], "light")
        self.assertEqual(light["state"], self.peer_state(self.peer_a, "light.kitchen_lights"))
        self.assertIsInstance(light["attributes"], dict)
        self.assertTrue(light["device_id"])
        self.fails("entities_by_area", "not_found", area_id="kitchen", ha_instance_id=self.instance_b.id)
        self.fails("entities_by_area", "invalid_params", area_id="")
        self.fails("entities_by_area", "invalid_params")

    def test_user_sees_only_their_instance_data(self):
        self.login(self.user_a)
        self.assertTrue(self.ok("areas")["areas"])
        self.fails("areas", "access_denied", ha_instance_id=self.instance_b.id)
        self.fails("hardware_info", "access_denied", ha_instance_id=self.instance_b.id)
        self.fails("entities_by_area", "access_denied", area_id="office", ha_instance_id=self.instance_b.id)

    def test_websocket_status_and_restart(self):
        self.login(self.manager)
        status = self.ok("websocket_status", ha_instance_id=self.instance_b.id)
        self.assertEqual(
            set(status),
            {"instance_id", "instance_name", "connection_state", "connected", "ha_version", "since", "last_error"},
        )
        self.assertEqual((status["instance_id"], status["instance_name"]), (self.instance_b.id, "Beta"))
        restarted = self.ok("websocket_restart", force=True, ha_instance_id=self.instance_b.id)
        self.assertEqual(restarted["instance_id"], self.instance_b.id)
        self.assertIn(restarted["connection_state"], {"connected", "connecting", "disconnected"})
        self.fails("websocket_restart", "invalid_params", force="yes")
        self.login(self.user_both)
        self.assertEqual(self.ok("websocket_status")["instance_id"], self.instance_a.id)
        self.fails("websocket_restart", "access_denied")
        self.fails("websocket_restart", "access_denied", force=True, ha_instance_id=self.instance_b.id)

    # -- service calls -----------------------------------------------------
    def test_user_toggles_a_light_of_their_instance(self):
        self.login(self.user_a)
        before = self.peer_state(self.peer_a, "light.bed_light")
        data = self.ok("call_service", domain="light", service="toggle", target={"entity_id": "light.bed_light"})
        self.assertTrue(data["context_id"])
        self.assertIsNone(data["response"])
        self.wait_peer_state(self.peer_a, "light.bed_light", "off" if before == "on" else "on")
        # The generic homeassistant services are allowed too.
        self.ok(
            "call_service",
            domain="homeassistant",
            service="toggle",
            service_data={"entity_id": "light.bed_light"},
        )
        self.wait_peer_state(self.peer_a, "light.bed_light", before)

    def test_policy_denials(self):
        self.login(self.user_a)
        denied = [
            # a service of another domain than the entity's
            {"domain": "switch", "service": "turn_on", "target": {"entity_id": "light.bed_light"}},
            # no entity at all
            {"domain": "persistent_notification", "service": "create", "service_data": {"message": "x"}},
            # a manager-only service of Home Assistant itself
            {"domain": "homeassistant", "service": "restart"},
            {"domain": "homeassistant", "service": "restart", "target": {"entity_id": "light.bed_light"}},
            # targets that cannot be checked entity by entity
            {"domain": "light", "service": "turn_on", "target": {"area_id": "kitchen"}},
            {"domain": "light", "service": "turn_on", "target": {"entity_id": "all"}},
            # an entity the mirror of this instance does not have
            {"domain": "light", "service": "turn_on", "target": {"entity_id": "light.not_there"}},
        ]
        for call in denied:
            with self.subTest(call=call):
                self.fails("call_service", "access_denied", **call)
        self.fails(
            "call_service",
            "access_denied",
            domain="light",
            service="toggle",
            target={"entity_id": "light.bed_light"},
            ha_instance_id=self.instance_b.id,
        )

    def test_entity_of_another_instance_is_refused(self):
        # An entity only Beta has (created through Beta's REST API).
        self.peer_b.rest("POST", "/api/states/light.beta_only", json={"state": "off"})
        self.instance_b.action_sync_now()
        self.login(self.user_both)
        self.fails(
            "call_service",
            "access_denied",
            domain="light",
            service="turn_on",
            target={"entity_id": "light.beta_only"},
            ha_instance_id=self.instance_a.id,
        )

    def test_manager_may_call_anything(self):
        self.login(self.manager)
        data = self.ok(
            "call_service",
            domain="weather",
            service="get_forecasts",
            service_data={"type": "daily"},
            target={"entity_id": "weather.demo_weather_south"},
            return_response=True,
        )
        self.assertIn("weather.demo_weather_south", data["response"])
        self.assertTrue(data["response"]["weather.demo_weather_south"]["forecast"])
        self.ok(
            "call_service",
            domain="persistent_notification",
            service="create",
            service_data={"message": "from Odoo tests", "notification_id": "odoo_ha_addon_test"},
        )
        self.fails("call_service", "not_found", domain="light", service="no_such_service")

    def test_batch_with_a_failing_call_in_the_middle(self):
        self.login(self.user_a)
        switch_before = self.peer_state(self.peer_a, "switch.decorative_lights")
        light_before = self.peer_state(self.peer_a, "light.bed_light")
        # Pipelined calls run concurrently in Home Assistant: two toggles of
        # one entity could see the same state, so toggle two entities.
        calls = [
            {"domain": "switch", "service": "toggle", "target": {"entity_id": "switch.decorative_lights"}},
            {"domain": "switch", "service": "no_such_service", "target": {"entity_id": "switch.decorative_lights"}},
            {"domain": "homeassistant", "service": "restart"},
            {"domain": "switch", "service": "toggle", "target": "not a target"},
            {"domain": "light", "service": "toggle", "target": {"entity_id": "light.bed_light"}},
        ]
        results = self.ok("call_services", calls=calls)["results"]
        self.assertEqual(len(results), 5)
        self.assertTrue(results[0]["success"], results[0])
        self.assertEqual(results[1]["error_code"], "not_found")
        self.assertEqual(results[2]["error_code"], "access_denied")
        self.assertEqual(results[3]["error_code"], "invalid_params")
        self.assertTrue(results[4]["success"], results[4])
        self.assertNotEqual(results[0]["data"]["context_id"], results[4]["data"]["context_id"])
        self.wait_peer_state(self.peer_a, "switch.decorative_lights", "off" if switch_before == "on" else "on")
        self.wait_peer_state(self.peer_a, "light.bed_light", "off" if light_before == "on" else "on")

    def test_batch_limits(self):
        self.login(self.manager)
        call = {"domain": "light", "service": "toggle", "target": {"entity_id": "light.bed_light"}}
        self.fails("call_services", "invalid_params", calls=[call] * 101)
        self.fails("call_services", "invalid_params", calls=[])
        self.fails("call_services", "invalid_params", calls={"0": call})
        self.fails("call_services", "invalid_params")
        results = self.ok("call_services", calls=[call] * 100)["results"]
        self.assertEqual(len(results), 100)
        self.assertTrue(all(result["success"] for result in results))

    def test_bad_service_input(self):
        self.login(self.manager)
        for params in [
            {},
            {"domain": "light"},
            {"domain": "Light", "service": "toggle"},
            {"domain": "light", "service": "toggle; drop table"},
            {"domain": "light", "service": "toggle", "service_data": []},
            {"domain": "light", "service": "toggle", "service_data": {"x": "y" * 70000}},
            {"domain": "light", "service": "toggle", "target": {"entity_id": 5}},
            {"domain": "light", "service": "toggle", "target": {"everything": "x"}},
            {"domain": "light", "service": "toggle", "return_response": "yes"},
            {"domain": "light", "service": "toggle", "extra": 1},
        ]:
            with self.subTest(params=params):
                self.fails("call_service", "invalid_params", **params)

    # -- an instance that is down ------------------------------------------
    def test_instance_down_answers_at_once(self):
        self.instance_b.api_url = f"http://127.0.0.1:{free_port()}"
        self.login(self.manager)
        for route, params in [
            ("hardware_info", {}),
            ("network_info", {}),
            ("ha_urls", {}),
            ("call_service", {"domain": "light", "service": "toggle", "target": {"entity_id": "light.bed_light"}}),
        ]:
            with self.subTest(route=route):
                self.fails(route, "ha_unavailable", ha_instance_id=self.instance_b.id, **params)
        results = self.ok(
            "call_services",
            calls=[{"domain": "light", "service": "toggle", "target": {"entity_id": "light.bed_light"}}],
            ha_instance_id=self.instance_b.id,
        )["results"]
        self.assertEqual(results[0]["error_code"], "ha_unavailable")
        # Mirrored data is still served.
        self.assertTrue(self.ok("areas", ha_instance_id=self.instance_b.id)["areas"])
