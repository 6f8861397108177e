from psycopg2 import IntegrityError

from odoo.exceptions import AccessError, ValidationError
from odoo.tests import TransactionCase, tagged
from odoo.tools import mute_logger

from ..models.ha_instance import normalize_api_url
from .common import HACommon


@tagged("post_install", "-at_install")
class TestInstanceModel(HACommon, TransactionCase):
    def test_url_normalised(self):
        for typed, stored in [
            ("http://127.0.0.1:8123/", "http://127.0.0.1:8123"),
            ("  HTTPS://ha.example.com//  ", "https://ha.example.com"),
            ("http://ha.local:8123/base/", "http://ha.local:8123/base"),
        ]:
            with self.subTest(typed=typed):
                instance = self.env["ha.instance"].create({"name": "x", "api_url": typed})
                self.assertEqual(instance.api_url, stored)
        self.instance_a.api_url = "http://127.0.0.1:1/"
        self.assertEqual(self.instance_a.api_url, "http://127.0.0.1:1")

    def test_url_rejected(self):
        for bad in [
            "ftp://ha.local",
            "ws://ha.local:8123",
            "ha.local:8123",
            "http://",
            "http://user:pw@ha.local",
            "http://ha.local:99999",
            "http://ha.local/?q=1",
            "javascript:alert(1)",
        ]:
            with self.subTest(url=bad), self.assertRaises(ValidationError):
                self.env["ha.instance"].create({"name": "x", "api_url": bad})
        with self.assertRaises(ValidationError):
            self.instance_a.api_url = "file:///etc/passwd"

    def test_normalize_helper_rejects_non_strings(self):
        self.assertIsNone(normalize_api_url(None))
        self.assertIsNone(normalize_api_url(8123))

    def test_token_stripped(self):
        self.instance_a.api_token = "  abc \n"
        self.assertEqual(self.instance_a.api_token, "abc")

    def test_defaults(self):
        instance = self.env["ha.instance"].create({"name": "x", "api_url": "http://127.0.0.1:9"})
        self.assertTrue(instance.active)
        self.assertEqual(instance.connection_state, "disconnected")

    def test_admin_is_manager(self):
        self.assertTrue(self.admin.has_group("odoo_ha_addon.group_ha_manager"))
        self.assertTrue(self.manager.has_group("odoo_ha_addon.group_ha_user"), "manager implies user")

    def test_token_visible_to_managers_only(self):
        for user in (self.admin, self.manager):
            with self.subTest(user=user.login):
                self.assertEqual(self.instance_a.with_user(user).api_token, self.peer_a.token)
        for user in (self.user_a, self.user_both):
            with self.subTest(user=user.login):
                instance = self.instance_a.with_user(user)
                self.assertEqual(instance.name, "Alpha")
                with self.assertRaises(AccessError):
                    instance.api_token  # noqa: B018
                with self.assertRaises(AccessError):
                    instance.read(["api_token"])
                self.assertNotIn("api_token", instance.fields_get())

    def test_crud_matrix(self):
        Instance = self.env["ha.instance"]
        vals = {"name": "New", "api_url": "http://127.0.0.1:9"}
        for user in (self.admin, self.manager):
            with self.subTest(user=user.login):
                created = Instance.with_user(user).create(vals)
                self.assertEqual(Instance.with_user(user).search([]), self.instance_a | self.instance_b | created)
                self.instance_b.with_user(user).write({"name": "Beta 2"})
                created.with_user(user).unlink()
        visible = {
            self.user_a: self.instance_a,
            self.user_both: self.instance_a | self.instance_b,
            self.user_open: Instance,
        }
        for user, expected in visible.items():
            with self.subTest(user=user.login):
                self.assertEqual(Instance.with_user(user).search([]), expected)
                with self.assertRaises(AccessError):
                    Instance.with_user(user).create(vals)
                with self.assertRaises(AccessError):
                    self.instance_a.with_user(user).write({"name": "Hacked"})
                with self.assertRaises(AccessError):
                    self.instance_a.with_user(user).unlink()
        with self.assertRaises(AccessError):
            self.instance_b.with_user(self.user_a).read(["name"])
        for user in (self.internal, self.portal):
            with self.subTest(user=user.login):
                with self.assertRaises(AccessError):
                    Instance.with_user(user).search([])
                with self.assertRaises(AccessError):
                    self.instance_a.with_user(user).read(["name"])
                with self.assertRaises(AccessError):
                    Instance.with_user(user).create(vals)

    def test_open_instance_visible_to_every_ha_user_only(self):
        self.instance_b.user_ids = False
        for user in (self.user_a, self.user_open, self.user_both):
            with self.subTest(user=user.login):
                self.assertIn(self.instance_b, self.env["ha.instance"].with_user(user).search([]))
        with self.assertRaises(AccessError):
            self.instance_b.with_user(self.internal).read(["name"])

    def test_entity_visible_with_its_instance(self):
        Entity = self.env["ha.entity"]
        light_a = Entity.create({"instance_id": self.instance_a.id, "entity_id": "light.kitchen"})
        light_b = Entity.create({"instance_id": self.instance_b.id, "entity_id": "light.kitchen"})
        self.assertEqual(light_a.domain, "light")
        self.assertEqual(Entity.with_user(self.user_a).search([]), light_a)
        self.assertEqual(Entity.with_user(self.user_both).search([]), light_a | light_b)
        self.assertEqual(Entity.with_user(self.manager).search([]), light_a | light_b)
        with self.assertRaises(AccessError):
            light_b.with_user(self.user_a).read(["state"])
        with self.assertRaises(AccessError):
            light_a.with_user(self.user_a).write({"state": "on"})
        with self.assertRaises(AccessError):
            Entity.with_user(self.internal).search([])
        with mute_logger("odoo.sql_db"), self.assertRaises(IntegrityError):
            Entity.create({"instance_id": self.instance_a.id, "entity_id": "light.kitchen"})
