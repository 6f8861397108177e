"""Shared set-up: two real Home Assistant peers, users of every role.

The peers are the project's ``test`` profile (see ``tools/ha_peers.py``): the
test command starts them and exports ``HA_TEST_PEERS``; without it (Odoo's
own runner, for instance) they are started here, which takes a minute the
first time.
"""

import importlib.util
import json
import os
import socket
from pathlib import Path

from odoo import http
from odoo.tests import new_test_user

from ..services import pool

ADDON_ROOT = Path(__file__).resolve().parents[1]


def load_harness():
    spec = importlib.util.spec_from_file_location("odoo_ha_addon_peers", ADDON_ROOT / "tools" / "ha_peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_peers = None


def test_peers():
    """The two running test peers, started on first use."""
    global _peers
    if _peers is None:
        harness = load_harness()
        state_file = os.environ.get("HA_TEST_PEERS")
        if state_file and Path(state_file).is_file():
            _peers = harness.load_peers("test")
            if not all(peer.is_running() for peer in _peers):
                _peers = harness.ensure_up("test")
        else:
            _peers = harness.ensure_up("test")
    return _peers


def free_port():
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class HACommon:
    """Mixin for TransactionCase and HttpCase.

    Instance A (peer Alpha) allows ``user_a`` and ``user_both``; instance B
    (peer Beta) allows ``user_both`` only. ``user_open`` is an HA user listed
    on no instance: they see only instances with no allowed users.
    """

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.peer_a, cls.peer_b = test_peers()
        Instance = cls.env["ha.instance"]
        # Instances from demo data or an earlier run must not change the
        # answers expected below.
        Instance.search([]).write({"active": False})
        cls.admin = cls.env.ref("base.user_admin")
        cls.manager = new_test_user(cls.env, "ha_manager", groups="odoo_ha_addon.group_ha_manager", name="HA Manager")
        cls.user_a = new_test_user(cls.env, "ha_user_a", groups="odoo_ha_addon.group_ha_user", name="HA User A")
        cls.user_both = new_test_user(
            cls.env, "ha_user_both", groups="odoo_ha_addon.group_ha_user", name="HA User Both"
        )
        cls.user_open = new_test_user(
            cls.env, "ha_user_open", groups="odoo_ha_addon.group_ha_user", name="HA User Open"
        )
        cls.internal = new_test_user(cls.env, "ha_internal", groups="base.group_user", name="Internal")
        cls.portal = new_test_user(cls.env, "ha_portal", groups="base.group_portal", name="Portal")
        cls.instance_a = Instance.create(
            {
                "name": "Alpha",
                "api_url": cls.peer_a.url,
                "api_token": cls.peer_a.token,
                "sequence": 1,
                "user_ids": [(6, 0, [cls.user_a.id, cls.user_both.id])],
            }
        )
        cls.instance_b = Instance.create(
            {
                "name": "Beta",
                "api_url": cls.peer_b.url,
                "api_token": cls.peer_b.token,
                "sequence": 2,
                "user_ids": [(6, 0, [cls.user_both.id])],
            }
        )
        cls.tokens = [cls.peer_a.token, cls.peer_b.token]
        for instance in cls.instance_a | cls.instance_b:
            # Each class makes new instances: close their call connections.
            cls.addClassCleanup(pool.discard, cls.env.cr.dbname, instance.id)


class RouteMixin:
    """Call the addon's JSON routes over HTTP, as the browser does."""

    def call(self, route, **params):
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params})
        response = self.url_open(f"/odoo_ha_addon/{route}", data=body, headers={"Content-Type": "application/json"})
        self.assertEqual(response.status_code, 200, response.text[:500])
        for token in self.tokens:
            self.assertNotIn(token, response.text, "a token leaked into a response")
        payload = response.json()
        self.assertNotIn("error", payload, payload)
        return payload["result"]

    def ok(self, route, **params):
        result = self.call(route, **params)
        self.assertTrue(result["success"], result)
        self.assertEqual(set(result), {"success", "data"})
        return result["data"]

    def fails(self, route, code, **params):
        result = self.call(route, **params)
        self.assertEqual(result["success"], False, result)
        self.assertEqual(result["error_code"], code, result)
        self.assertIsInstance(result["error"], str)
        self.assertTrue(result["error"])
        self.assertNotIn("Traceback", result["error"])
        return result

    def stored_session(self):
        """The session as the server saved it after the last request."""
        return http.root.session_store.get(self.session.sid)

    def login(self, user):
        self.authenticate(user.login, user.login if user != self.admin else "admin")


class BusMixin:
    """Read the bus notifications the test transaction produced."""

    def setUp(self):
        super().setUp()
        self.env.cr.precommit.run()
        self._bus_mark = self.env["bus.bus"].sudo().search([], order="id desc", limit=1).id or 0

    def bus_notifications(self):
        """``[(channel, type, payload)]`` sent since the test started; the
        bus writes them at commit time, so run that hook now."""
        self.env.cr.precommit.run()
        rows = self.env["bus.bus"].sudo().search([("id", ">", self._bus_mark)], order="id")
        self._bus_mark = rows[-1:].id or self._bus_mark
        result = []
        for row in rows:
            message = json.loads(row.message)
            result.append((tuple(json.loads(row.channel)), message["type"], message["payload"]))
        return result

    def partner_channel(self, user):
        return (self.env.cr.dbname, "res.partner", user.partner_id.id)
