import copy
import uuid
from datetime import datetime, timedelta, timezone

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged
from odoo.tools import SQL

from ..models.ha_entity import ha_datetime
from .common import HACommon

COMMANDS = {
    "floors": "config/floor_registry/list",
    "labels": "config/label_registry/list",
    "areas": "config/area_registry/list",
    "devices": "config/device_registry/list",
    "entities": "config/entity_registry/list",
    "states": "get_states",
}
MIRROR_MODELS = ("ha.floor", "ha.label", "ha.area", "ha.device", "ha.entity")
NOTHING = {"created": 0, "updated": 0, "removed": 0}
STATE_KEYS = ("entity_id", "state", "attributes", "last_changed", "last_updated")


def fetch_snapshot(peer):
    return {key: peer.ws_call(command) for key, command in COMMANDS.items()}


def entity_ids(snapshot):
    return {item["entity_id"] for item in snapshot["entities"]} | {state["entity_id"] for state in snapshot["states"]}


def payload(state):
    """What ``_sync_states`` reports for an applied state."""
    return {key: state[key] for key in STATE_KEYS}


def shifted(original, seconds, /, **changes):
    """The state ``original`` as Home Assistant would report it ``seconds`` later."""
    moment = (ha_datetime(original["last_updated"]) + timedelta(seconds=seconds)).replace(tzinfo=timezone.utc)
    return {
        **copy.deepcopy(original),
        "last_updated": moment.isoformat(),
        "last_changed": moment.isoformat(),
        **changes,
    }


@tagged("post_install", "-at_install")
class TestMirror(HACommon, TransactionCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.snapshot_a = fetch_snapshot(cls.peer_a)
        cls.snapshot_b = fetch_snapshot(cls.peer_b)

    def mirror(self, model, instance):
        return self.env[model].search([("instance_id", "=", instance.id)])

    def entity(self, instance, entity_id):
        return self.env["ha.entity"].search([("instance_id", "=", instance.id), ("entity_id", "=", entity_id)])

    def area(self, instance, area_id):
        return self.env["ha.area"].search([("instance_id", "=", instance.id), ("area_id", "=", area_id)])

    def age_write_dates(self, instance):
        """Backdate the mirror's write_date: within one test transaction a
        rewrite would otherwise keep the same timestamp."""
        for model in MIRROR_MODELS:
            self.env.cr.execute(
                SQL(
                    "UPDATE %s SET write_date = %s WHERE instance_id = %s",
                    SQL.identifier(self.env[model]._table),
                    datetime(2001, 1, 1),
                    instance.id,
                )
            )
        self.env.invalidate_all()

    def write_dates(self, instance):
        return {
            (model, record.id): record.write_date for model in MIRROR_MODELS for record in self.mirror(model, instance)
        }

    # -- full synchronisation ---------------------------------------------
    def test_full_sync_mirrors_home_assistant(self):
        snapshot = self.snapshot_a
        counts = self.instance_a._sync_full(snapshot)
        expected = {
            "floor": len(snapshot["floors"]),
            "label": len(snapshot["labels"]),
            "area": len(snapshot["areas"]),
            "device": len(snapshot["devices"]),
            "entity": len(entity_ids(snapshot)),
        }
        self.assertEqual({kind: kind_counts["created"] for kind, kind_counts in counts.items()}, expected)
        for kind, model in zip(expected, MIRROR_MODELS, strict=True):
            self.assertEqual(len(self.mirror(model, self.instance_a)), expected[kind], model)
        self.assertGreater(expected["entity"], 100)
        self.assertTrue(self.instance_a.last_sync)
        self.assertIn(f"{expected['entity']} entities", self.instance_a.sync_status)

        kitchen = self.area(self.instance_a, "kitchen")
        self.assertEqual(kitchen.name, "Kitchen")
        light = self.entity(self.instance_a, "light.kitchen_lights")
        entry = next(item for item in snapshot["entities"] if item["entity_id"] == "light.kitchen_lights")
        state = next(item for item in snapshot["states"] if item["entity_id"] == "light.kitchen_lights")
        self.assertEqual(light.area_id, kitchen)
        self.assertEqual(light.device_id.device_id, entry["device_id"])
        self.assertEqual(light.domain, "light")
        self.assertEqual(light.platform, entry["platform"])
        self.assertEqual(light.unique_id, entry["unique_id"])
        self.assertEqual(light.state, state["state"])
        self.assertEqual(light.attributes, state["attributes"])
        self.assertEqual(light.name, state["attributes"]["friendly_name"])
        self.assertIn(light, kitchen.entity_ids)
        in_kitchen = self.env["ha.entity"].search_count([("area_id", "=", kitchen.id)])
        self.assertEqual(kitchen.entity_count, in_kitchen)
        self.assertGreaterEqual(in_kitchen, 4)

    def test_timestamps_are_home_assistant_s(self):
        self.instance_a._sync_full(self.snapshot_a)
        for state in self.snapshot_a["states"]:
            entity = self.entity(self.instance_a, state["entity_id"])
            self.assertEqual(entity.last_updated, ha_datetime(state["last_updated"]))
            self.assertEqual(entity.last_changed, ha_datetime(state["last_changed"]))
        moment = ha_datetime("2024-05-01T14:30:15.123456+02:00")
        self.assertEqual(moment, datetime(2024, 5, 1, 12, 30, 15, 123456))
        self.assertIsNone(moment.tzinfo)

    def test_registry_entry_without_state_is_unavailable(self):
        self.instance_a._sync_full(self.snapshot_a)
        stateless = {item["entity_id"] for item in self.snapshot_a["entities"]} - {
            state["entity_id"] for state in self.snapshot_a["states"]
        }
        stateful = {state["entity_id"]: state["state"] for state in self.snapshot_a["states"]}
        self.assertTrue(stateless, "the demo has disabled entities, which have no state")
        for entity in self.mirror("ha.entity", self.instance_a):
            with self.subTest(entity=entity.entity_id):
                if entity.entity_id in stateless:
                    self.assertEqual((entity.state, entity.available), ("unavailable", False))
                else:
                    self.assertEqual(entity.available, stateful[entity.entity_id] != "unavailable")
        # 'unknown' means working but without a value yet: still available.
        self.assertTrue(any(state == "unknown" for state in stateful.values()))

    def test_second_sync_writes_nothing(self):
        self.instance_a._sync_full(self.snapshot_a)
        self.age_write_dates(self.instance_a)
        before = self.write_dates(self.instance_a)
        counts = self.instance_a._sync_full(copy.deepcopy(self.snapshot_a))
        self.assertEqual(counts, dict.fromkeys(counts, NOTHING))
        for kind, items in (("area", "areas"), ("device", "devices"), ("entity", "entities"), ("label", "labels")):
            self.assertEqual(self.instance_a._sync_registry(kind, self.snapshot_a[items]), NOTHING, kind)
        self.assertEqual(self.instance_a._sync_states(self.snapshot_a["states"]), [])
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(self.write_dates(self.instance_a), before)

    def test_sync_does_not_query_per_record(self):
        records = len(entity_ids(self.snapshot_a)) + len(self.snapshot_a["devices"])
        with self.assertQueryCount(20):
            self.instance_a._sync_full(self.snapshot_a)
        with self.assertQueryCount(12):
            self.instance_a._sync_full(self.snapshot_a)
        newer = [shifted(state, 60) for state in self.snapshot_a["states"]]
        with self.assertQueryCount(3):
            applied = self.instance_a._sync_states(newer)
        self.assertEqual(len(applied), len(newer))
        self.assertGreater(records, 150)

    def test_removed_from_home_assistant(self):
        self.instance_a._sync_full(self.snapshot_a)
        kitchen = self.area(self.instance_a, "kitchen")
        in_kitchen = kitchen.entity_ids
        self.assertTrue(in_kitchen)
        snapshot = copy.deepcopy(self.snapshot_a)
        snapshot["areas"] = [area for area in snapshot["areas"] if area["area_id"] != "kitchen"]
        gone = "sensor.sun_next_dawn"
        snapshot["entities"] = [item for item in snapshot["entities"] if item["entity_id"] != gone]
        snapshot["states"] = [state for state in snapshot["states"] if state["entity_id"] != gone]
        counts = self.instance_a._sync_full(snapshot)
        self.assertEqual(counts["area"]["removed"], 1)
        self.assertEqual(counts["entity"]["removed"], 1)
        self.assertFalse(kitchen.exists())
        self.assertFalse(self.entity(self.instance_a, gone))
        self.assertEqual(len(in_kitchen.exists()), len(in_kitchen))
        self.assertFalse(in_kitchen.area_id)
        self.assertFalse(in_kitchen.own_area_id)

    def test_area_falls_back_to_device_area(self):
        self.instance_a._sync_full(self.snapshot_a)
        light = self.entity(self.instance_a, "light.kitchen_lights")
        snapshot = copy.deepcopy(self.snapshot_a)
        device = next(item for item in snapshot["devices"] if item["id"] == light.device_id.device_id)
        device["area_id"] = "living_room"
        self.instance_a._sync_registry("device", snapshot["devices"])
        living_room = self.area(self.instance_a, "living_room")
        self.assertEqual(light.device_id.area_id, living_room)
        self.assertEqual(light.area_id, self.area(self.instance_a, "kitchen"), "its own area wins")
        # Its own area deleted in Home Assistant: the device's area takes over.
        areas = [area for area in snapshot["areas"] if area["area_id"] != "kitchen"]
        self.assertEqual(self.instance_a._sync_registry("area", areas)["removed"], 1)
        self.assertFalse(light.own_area_id)
        self.assertEqual(light.area_id, living_room)
        device["area_id"] = None
        self.instance_a._sync_registry("device", snapshot["devices"])
        self.assertFalse(light.area_id)

    def test_floors_labels_and_device_area_on_real_peer(self):
        """Give peer Alpha a floor, a label and a device area for a moment."""
        peer, tag = self.peer_a, uuid.uuid4().hex[:8]
        device_id = next(
            item["device_id"]
            for item in peer.ws_call("config/entity_registry/list")
            if item["entity_id"] == "sensor.outside_temperature"
        )
        floor = label = None
        try:
            floor = peer.ws_call("config/floor_registry/create", name=f"Mirror floor {tag}", level=1)
            label = peer.ws_call("config/label_registry/create", name=f"Mirror label {tag}", color="indigo")
            peer.ws_call("config/area_registry/update", area_id="bedroom", floor_id=floor["floor_id"])
            peer.ws_call(
                "config/device_registry/update", device_id=device_id, area_id="bedroom", labels=[label["label_id"]]
            )
            peer.ws_call(
                "config/entity_registry/update", entity_id="sensor.outside_temperature", labels=[label["label_id"]]
            )
            snapshot = fetch_snapshot(peer)
        finally:
            # Deleting them also clears them from the area, device and entity.
            if label:
                peer.ws_call("config/label_registry/delete", label_id=label["label_id"])
            if floor:
                peer.ws_call("config/floor_registry/delete", floor_id=floor["floor_id"])
            peer.ws_call("config/device_registry/update", device_id=device_id, area_id=None)
        self.instance_a._sync_full(snapshot)
        self.assertEqual(len(self.mirror("ha.floor", self.instance_a)), len(snapshot["floors"]))
        self.assertEqual(len(self.mirror("ha.label", self.instance_a)), len(snapshot["labels"]))
        mirrored_floor = self.env["ha.floor"].search([("floor_id", "=", floor["floor_id"])])
        mirrored_label = self.env["ha.label"].search([("label_id", "=", label["label_id"])])
        self.assertEqual((mirrored_floor.name, mirrored_floor.level), (floor["name"], 1))
        self.assertEqual((mirrored_label.name, mirrored_label.color), (label["name"], "indigo"))
        bedroom = self.area(self.instance_a, "bedroom")
        self.assertEqual((bedroom.floor_id, bedroom.ha_floor_id), (floor["floor_id"], mirrored_floor))
        sensor = self.entity(self.instance_a, "sensor.outside_temperature")
        self.assertFalse(sensor.own_area_id)
        self.assertEqual(sensor.area_id, bedroom, "the entity is in its device's area")
        self.assertEqual(sensor.device_id.label_ids, mirrored_label)
        self.assertEqual(sensor.label_ids, mirrored_label)
        # An area synchronised before its floor is linked once the floor is.
        self.instance_a._sync_registry("floor", [])
        self.assertFalse(bedroom.ha_floor_id)
        self.assertEqual(bedroom.floor_id, floor["floor_id"])
        self.instance_a._sync_registry("floor", snapshot["floors"])
        self.assertEqual(bedroom.ha_floor_id.floor_id, floor["floor_id"])
        # What Home Assistant says now: the floor, label and device area are gone.
        counts = self.instance_a._sync_full(fetch_snapshot(peer))
        self.assertEqual((counts["floor"]["removed"], counts["label"]["removed"]), (1, 1))
        self.assertFalse(sensor.area_id or sensor.label_ids or bedroom.ha_floor_id)

    def test_entity_registry_sync_keeps_state_only_entities(self):
        self.instance_a._sync_full(self.snapshot_a)
        registered = {item["entity_id"] for item in self.snapshot_a["entities"]}
        state_only = entity_ids(self.snapshot_a) - registered
        self.assertTrue(state_only)
        counts = self.instance_a._sync_registry("entity", self.snapshot_a["entities"][1:])
        self.assertEqual(counts, {"created": 0, "updated": 0, "removed": 1})
        remaining = set(self.mirror("ha.entity", self.instance_a).mapped("entity_id"))
        self.assertEqual(remaining, entity_ids(self.snapshot_a) - {self.snapshot_a["entities"][0]["entity_id"]})
        with self.assertRaises(ValueError):
            self.instance_a._sync_registry("zone", [])

    # -- states ------------------------------------------------------------
    def test_states_never_go_back_in_time(self):
        self.instance_a._sync_full(self.snapshot_a)
        state = next(item for item in self.snapshot_a["states"] if item["entity_id"] == "light.kitchen_lights")
        light = self.entity(self.instance_a, "light.kitchen_lights")
        other = "off" if state["state"] == "on" else "on"
        self.assertEqual(self.instance_a._sync_states([shifted(state, -1, state=other)]), [])
        self.assertEqual(light.state, state["state"])

        renamed = {**state["attributes"], "friendly_name": "Kitchen main"}
        newer = shifted(state, 1, state=other, attributes=renamed)
        applied = self.instance_a._sync_states([newer])
        self.assertEqual(applied, [payload(newer)])
        self.assertEqual((light.state, light.name, light.attributes), (other, "Kitchen main", renamed))
        self.assertEqual(light.last_updated, ha_datetime(newer["last_updated"]))
        self.assertEqual(self.instance_a._sync_states([newer]), [], "nothing changed")

        # In one batch the latest wins, whatever the order of arrival.
        latest, late = shifted(state, 3, state="on"), shifted(state, 2, state="off")
        self.assertEqual(self.instance_a._sync_states([latest, late]), [payload(latest)])
        self.assertEqual(light.state, "on")
        # A full snapshot older than the stored state does not undo it.
        self.instance_a._sync_full(self.snapshot_a)
        self.assertEqual(light.last_updated, ha_datetime(latest["last_updated"]))

    def test_removed_state_makes_entity_unavailable(self):
        self.instance_a._sync_full(self.snapshot_a)
        state = next(item for item in self.snapshot_a["states"] if item["entity_id"] == "light.kitchen_lights")
        light = self.entity(self.instance_a, "light.kitchen_lights")
        self.assertTrue(light.available)
        applied = self.instance_a._sync_states([{"entity_id": "light.kitchen_lights", "removed": True}])
        self.assertEqual(
            applied,
            [{**payload(state), "state": "unavailable"}],
        )
        self.assertEqual((light.state, light.available), ("unavailable", False))
        self.assertEqual(light.last_updated, ha_datetime(state["last_updated"]), "Home Assistant's time is kept")
        self.instance_a._sync_states([shifted(state, 5, state="unknown")])
        self.assertEqual((light.state, light.available), ("unknown", True))

    def test_new_entity_from_a_state(self):
        self.instance_a._sync_full(self.snapshot_a)
        state = shifted(self.snapshot_a["states"][0], 0, entity_id="sensor.brand_new", state="7")
        state["attributes"] = {"friendly_name": "Brand new"}
        self.assertEqual(len(self.instance_a._sync_states([state])), 1)
        entity = self.entity(self.instance_a, "sensor.brand_new")
        self.assertEqual(
            (entity.name, entity.state, entity.domain, entity.available), ("Brand new", "7", "sensor", True)
        )
        self.assertFalse(self.entity(self.instance_b, "sensor.brand_new"))

    # -- isolation and visibility ------------------------------------------
    def test_instances_do_not_touch_each_other(self):
        self.instance_a._sync_full(self.snapshot_a)
        self.age_write_dates(self.instance_a)
        before = self.write_dates(self.instance_a)
        self.instance_b._sync_full(self.snapshot_b)
        self.assertIn("garden", self.mirror("ha.area", self.instance_b).mapped("area_id"))
        self.assertNotIn("garden", self.mirror("ha.area", self.instance_a).mapped("area_id"))
        self.instance_b._sync_registry("area", [])
        self.instance_b._sync_states([shifted(state, 10) for state in self.snapshot_b["states"]])
        self.env.flush_all()
        self.env.invalidate_all()
        self.assertEqual(self.write_dates(self.instance_a), before)
        # The same entity id on both instances: two records.
        common = entity_ids(self.snapshot_a) & entity_ids(self.snapshot_b)
        self.assertIn("sensor.sun_next_dawn", common)
        self.assertEqual(len(self.env["ha.entity"].search([("entity_id", "=", "sensor.sun_next_dawn")])), 2)

    def test_visibility_follows_the_instance(self):
        self.instance_a._sync_full(self.snapshot_a)
        self.instance_b._sync_full(self.snapshot_b)
        # The peers have no floors or labels: give each instance one.
        for instance in self.instance_a | self.instance_b:
            self.env["ha.floor"].create({"instance_id": instance.id, "floor_id": "ground", "name": "Ground"})
            self.env["ha.label"].create({"instance_id": instance.id, "label_id": "eco", "name": "Eco"})
        for model in MIRROR_MODELS:
            with self.subTest(model=model):
                Model = self.env[model]
                mine, theirs = self.mirror(model, self.instance_a), self.mirror(model, self.instance_b)
                self.assertEqual(Model.with_user(self.user_a).search([]), mine)
                self.assertFalse(Model.with_user(self.user_a).search([("instance_id", "=", self.instance_b.id)]))
                with self.assertRaises(AccessError):
                    theirs[:1].with_user(self.user_a).read(["instance_id"])
                self.assertEqual(Model.with_user(self.user_both).search([]), mine | theirs)
                self.assertEqual(Model.with_user(self.manager).search([]), mine | theirs)
                self.assertFalse(Model.with_user(self.user_open).search([]))
                for user in (self.internal, self.portal):
                    with self.assertRaises(AccessError):
                        Model.with_user(user).search([])
                # Only the synchronisation writes, not even managers.
                for user in (self.manager, self.user_a):
                    with self.assertRaises(AccessError):
                        mine[:1].with_user(user).write({"instance_id": self.instance_a.id})
                    with self.assertRaises(AccessError):
                        mine[:1].with_user(user).unlink()
        self.instance_b.user_ids = False
        self.assertTrue(self.env["ha.entity"].with_user(self.user_open).search([]))

    def test_data_menus_and_views(self):
        menus = self.env["ir.ui.menu"]
        data_menus = {
            self.env.ref(f"odoo_ha_addon.menu_ha_data_{name}").id
            for name in ("areas", "devices", "entities", "labels", "floors")
        }
        self.assertLessEqual(data_menus, menus.with_user(self.user_a)._visible_menu_ids())
        self.assertFalse(data_menus & menus.with_user(self.internal)._visible_menu_ids())
        for name in ("area", "device", "entity", "label", "floor"):
            action = self.env.ref(f"odoo_ha_addon.ha_{name}_action")
            modes = [(False, mode) for mode in action.view_mode.split(",")] + [(False, "search")]
            with self.subTest(model=action.res_model):
                views = self.env[action.res_model].with_user(self.user_a).get_views(modes)["views"]
                self.assertEqual(set(views), {mode for _view, mode in modes})
        form = self.env["ha.instance"].with_user(self.user_a).get_views([(False, "form")])["views"]["form"]
        self.assertIn('name="sync_status"', form["arch"])
