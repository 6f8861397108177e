"""Who may do what: every route and bus type, for every role, on both instances.

``EXPECTED`` below is the permission matrix of the contract, written out per
role. The tests observe the real answers over HTTP and compare them with it,
and ``docs/permissions.md`` is generated from the same matrix: the test
fails when the file differs (regenerate it with ``ODOO_HA_WRITE_DOCS=1``),
so the documented table cannot drift from what is tested.

Set-up (``HACommon``): instance A (peer Alpha) lists ``user_a`` and
``user_both``, instance B (peer Beta) lists ``user_both`` only;
``user_open`` is an HA user listed nowhere.

For each role every route is called on A and on B, each in two ways: with an
explicit ``ha_instance_id``, and through the session (``switch_instance``,
then the route without ``ha_instance_id``); both must agree. Where the
switch is refused, the refusal must be ``access_denied`` and the session
must not move. A route is also called without ``ha_instance_id`` in a fresh
session ("current": the first instance the user may use, or
``no_instance``). Routes that call Home Assistant (``LIVE``) are called once
per role and instance when the call is allowed, through one of the two
ways, alternating from route to route.
"""

import json
import os
import time
from collections import defaultdict
from datetime import datetime, timezone

from odoo.exceptions import UserError
from odoo.tests import HttpCase, TransactionCase, tagged

from ..ha_client import Status
from ..services import pool
from ..services.owner import InstanceOwner, fetch_snapshot
from .common import ADDON_ROOT, BusMixin, HACommon, RouteMixin

DOC_PATH = ADDON_ROOT / "docs" / "permissions.md"
WRITE_DOCS = os.environ.get("ODOO_HA_WRITE_DOCS") == "1"

ROLES = {
    "admin": "admin",
    "manager": "HA manager",
    "user_both": "HA user on A and B",
    "user_a": "HA user on A only",
    "user_open": "HA user listed nowhere",
    "internal": "internal user, no HA group",
    "portal": "portal user",
    "public": "public (no session)",
}
# The instances each role may use; None: no Home Assistant group at all.
USABLE = {
    "admin": "AB",
    "manager": "AB",
    "user_both": "AB",
    "user_a": "A",
    "user_open": "",
    "internal": None,
    "portal": None,
    "public": None,
}
MANAGERS = {"admin", "manager"}

POLICY_CALL = "call_service outside the service policy"
ROWS = (
    "instances",
    "current_instance",
    "switch_instance",
    "websocket_status",
    "websocket_restart",
    "hardware_info",
    "network_info",
    "ha_urls",
    "areas",
    "entities_by_area",
    "call_service",
    POLICY_CALL,
    "call_services",
    "check_access read",
    "check_access control",
    "check_access manage",
)
LIVE = {"websocket_restart", "hardware_info", "network_info", "ha_urls", "call_service", POLICY_CALL, "call_services"}
BUS_TYPES = (
    "ha_instance_switched",
    "ha_session_fallback",
    "ha_states_changed",
    "ha_connection_status",
    "ha_registry_updated",
)
TARGETS = ("A", "B", "current")
# A harmless service on an entity both peers have: the light is on in the
# demo, and other tests toggle light.bed_light, not this one.
ALLOWED_CALL = {"domain": "light", "service": "turn_on", "target": {"entity_id": "light.ceiling_lights"}}
# No entity named, so outside the policy for non-managers; dismissing a
# notification that does not exist changes nothing in Home Assistant.
POLICY_CALL_PARAMS = {
    "domain": "persistent_notification",
    "service": "dismiss",
    "service_data": {"notification_id": "odoo_ha_addon_permissions_probe"},
}


def sync_mirrors(instances, timeout=60):
    """Fill the instances' mirrors from their peers.

    The peers are shared with other engineers' runs, whose fault drills
    restart them: give a restarting peer some time rather than failing.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            instances.action_sync_now()
            return
        except UserError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def expected_route(row, role):
    """What ``role`` gets from ``row``: one outcome, or ``{target: outcome}``."""
    usable = USABLE[role]
    if role == "public":
        return "session_expired"
    if usable is None:
        return "access_denied"
    if row == "instances":
        return "lists " + (", ".join(usable) or "none")
    cells = {}
    for target in TARGETS:
        if row == "switch_instance" and target == "current":
            continue  # the route names its instance
        instance = usable[:1] if target == "current" else target if target in usable else ""
        if row.startswith("check_access"):
            operation = row.split()[1]
            cells[target] = "yes" if instance and (operation != "manage" or role in MANAGERS) else "no"
        elif row == "websocket_restart" and role not in MANAGERS:
            cells[target] = "access_denied"  # before the instance is even looked at
        elif not instance:
            cells[target] = "no_instance" if target == "current" else "access_denied"
        elif row == POLICY_CALL and role not in MANAGERS:
            cells[target] = "access_denied"
        else:
            cells[target] = "allowed"
    return compact(cells)


def compact(cells):
    """One outcome where every target gets the same one."""
    return next(iter(cells.values())) if len(set(cells.values())) == 1 else cells


def cell_target(cell, target):
    return cell if isinstance(cell, str) else cell.get(target)


def expected_bus(role):
    """The instances whose notifications of each type ``role`` receives:
    those it may use, whatever the type (user-level types follow what the
    user does on them, instance-level types the channel grants)."""
    return dict.fromkeys(BUS_TYPES, USABLE[role] or "")


EXPECTED = {role: {row: expected_route(row, role) for row in ROWS} for role in ROLES}
EXPECTED_BUS = {role: expected_bus(role) for role in ROLES}


def render_cell(value):
    if isinstance(value, str):
        return value
    groups = {}
    for target in TARGETS:
        if target in value:
            groups.setdefault(value[target], []).append(target)
    if len(groups) == 1:
        return next(iter(groups))
    return "; ".join(f"{outcome} ({', '.join(targets)})" for outcome, targets in groups.items())


def render_document():
    header = "| | " + " | ".join(ROLES.values()) + " |"
    rule = "|---" * (len(ROLES) + 1) + "|"
    lines = [
        "# Permissions",
        "",
        "<!-- Generated by tests/test_permissions.py from the matrix it asserts; do not edit.",
        "     Regenerate: ODOO_HA_WRITE_DOCS=1 scripts/test.sh -k permissions -->",
        "",
        "What each role gets from each JSON route and which bus notifications it",
        "receives, as the test suite checks it over real HTTP against two real",
        "Home Assistant instances: **A**, whose allowed users are the HA user on A",
        "only and the HA user on A and B, and **B**, which allows the HA user on A",
        "and B only. The HA user listed nowhere would also use any instance that",
        "lists no users at all.",
        "",
        "## Routes",
        "",
        "A cell is the answer on A, on B, and *current* (without `ha_instance_id`, in",
        "a fresh session: the first instance the user may use). `allowed` is",
        "`success: true`; `yes` / `no` is `check_access`'s `allowed`; any other",
        "word is the `error_code` of a failed envelope, or `session_expired` for",
        "Odoo's own JSON-RPC error to a caller without a session. An instance given",
        "as `ha_instance_id` and an instance chosen with `switch_instance` give",
        "the same answer; where the switch is refused, it answers `access_denied`",
        "and the session keeps its instance.",
        "",
        header,
        rule,
    ]
    for row in ROWS:
        name = f"`{row}`" if " " not in row else f"`{row.split()[0]}` {' '.join(row.split()[1:])}"
        lines.append(f"| {name} | " + " | ".join(render_cell(EXPECTED[role][row]) for role in ROLES) + " |")
    lines += [
        "",
        "`call_service` is `light.turn_on` on a light of the instance;",
        "outside the service policy is a service that names no entity",
        "(`persistent_notification.dismiss`). `websocket_restart` is refused to",
        "non-managers before the instance is resolved.",
        "",
        "## Bus notifications",
        "",
        "The instances a role receives each type of notification for.",
        "`ha_instance_switched` and `ha_session_fallback` go to the user",
        "concerned only (their partner's channel): after switching to the",
        "instance, and when the instance of their session is archived.",
        "The other types go to the instance's channel, which Odoo grants to",
        "the users who may use the instance.",
        "",
        header,
        rule,
    ]
    for bus_type in BUS_TYPES:
        cells = [", ".join(EXPECTED_BUS[role][bus_type]) or "none" for role in ROLES]
        lines.append(f"| `{bus_type}` | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


@tagged("post_install", "-at_install")
class TestPermissionsDoc(TransactionCase):
    def test_docs_table_is_up_to_date(self):
        document = render_document()
        if WRITE_DOCS:
            DOC_PATH.parent.mkdir(exist_ok=True)
            DOC_PATH.write_text(document)
            return
        self.assertTrue(DOC_PATH.is_file(), f"{DOC_PATH} is missing: run the tests with ODOO_HA_WRITE_DOCS=1")
        self.assertEqual(
            DOC_PATH.read_text(),
            document,
            f"{DOC_PATH} differs from the matrix the tests assert: regenerate it with ODOO_HA_WRITE_DOCS=1",
        )


class PermissionMixin(RouteMixin, HACommon):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sync_mirrors(cls.instance_a | cls.instance_b)
        cls.users = {
            "admin": cls.admin,
            "manager": cls.manager,
            "user_both": cls.user_both,
            "user_a": cls.user_a,
            "user_open": cls.user_open,
            "internal": cls.internal,
            "portal": cls.portal,
        }
        cls.instances = {"A": cls.instance_a, "B": cls.instance_b}
        cls.peers = {cls.instance_a: cls.peer_a, cls.instance_b: cls.peer_b}
        Area = cls.env["ha.area"].sudo()
        cls.mirror_areas = {}
        cls.area_of = {}
        for instance in cls.instances.values():
            areas = Area.search([("instance_id", "=", instance.id)])
            cls.mirror_areas[instance] = set(areas.mapped("area_id"))
            cls.area_of[instance] = max(areas, key=lambda area: area.entity_count).area_id

    def rpc(self, route, **params):
        """The JSON-RPC answer: the envelope, or Odoo's own error."""
        body = {"jsonrpc": "2.0", "method": "call", "id": 1, "params": params}
        response = self.url_open(
            f"/odoo_ha_addon/{route}", data=json.dumps(body), headers={"Content-Type": "application/json"}
        )
        self.assertEqual(response.status_code, 200, response.text[:500])
        for token in self.tokens:
            self.assertNotIn(token, response.text, "a token leaked into a response")
        return response.json()


@tagged("post_install", "-at_install")
class TestPermissionMatrix(PermissionMixin, HttpCase):
    """The routes: one test per role, each comparing its column with EXPECTED."""

    maxDiff = None

    def request(self, row, instance):
        """``(route, params)`` of a row, for a call served by ``instance``."""
        if row.startswith("check_access"):
            return "check_access", {"operation": row.split()[1]}
        return {
            "switch_instance": ("switch_instance", {"instance_id": instance.id}),
            "websocket_restart": ("websocket_restart", {"force": False}),
            "entities_by_area": ("entities_by_area", {"area_id": self.area_of[instance]}),
            "call_service": ("call_service", dict(ALLOWED_CALL)),
            POLICY_CALL: ("call_service", dict(POLICY_CALL_PARAMS)),
            "call_services": ("call_services", {"calls": [ALLOWED_CALL]}),
        }.get(row, (row, {}))

    def outcome(self, row, answer, served):
        """The matrix word for an answer; for a success, check that ``served``
        (the instance the call had to work on) is the one that answered."""
        if "error" in answer:
            self.assertEqual(answer["error"]["data"]["name"], "odoo.http.SessionExpiredException", answer)
            return "session_expired"
        result = answer["result"]
        if not result["success"]:
            self.assertEqual(set(result), {"success", "error", "error_code"}, result)
            self.assertTrue(result["error"])
            return result["error_code"]
        data = result["data"]
        if row.startswith("check_access"):
            return "yes" if data["allowed"] else "no"
        if row in ("current_instance", "switch_instance", "websocket_status", "websocket_restart"):
            self.assertEqual(data["instance_id"], served.id, f"{row} answered for another instance: {data}")
        elif row == "hardware_info":
            self.assertTrue(data.get("source"), data)
        elif row == "network_info":
            self.assertEqual(data["location_name"], self.peers[served].name, f"{row}: another instance")
        elif row == "ha_urls":
            self.assertTrue(data["internal"].endswith(f":{self.peers[served].port}"), f"{row}: another instance")
        elif row == "areas":
            self.assertEqual({area["area_id"] for area in data["areas"]}, self.mirror_areas[served], row)
        elif row == "entities_by_area":
            self.assertTrue(data["entities"], data)
        elif row in ("call_service", POLICY_CALL):
            self.assertTrue(data["context_id"], data)
        elif row == "call_services":
            self.assertTrue(data["results"][0]["success"], data)
        return "allowed"

    def probe(self, row, instance=None, served=None):
        """Call ``row`` with ``ha_instance_id`` = ``instance`` (None: without
        one; ``served`` is then the instance the call must work on)."""
        served = instance or served or self.instance_a
        route, params = self.request(row, served)
        if instance is not None:
            params["ha_instance_id"] = instance.id
        outcome = self.outcome(row, self.rpc(route, **params), served)
        for _attempt in range(3):
            if outcome != "ha_unavailable":
                break
            # Permissions, not availability: the shared peers are restarted
            # by other engineers' fault drills. Wait for the peer, try again.
            self.wait_call_connection(served, 30)
            outcome = self.outcome(row, self.rpc(route, **params), served)
        if row == "websocket_restart" and outcome == "allowed":
            # The restart drops this process's call connection too; until it
            # is back, calls answer ha_unavailable at once (the pool's circuit
            # breaker), which is not what the next rows are about.
            self.wait_call_connection(served, 10)
        return outcome

    def wait_call_connection(self, instance, timeout):
        client = pool.get_client(self.env.cr.dbname, instance.id, instance.api_url, instance.sudo().api_token)
        self.assertTrue(client.wait_connected(timeout), f"{instance.name}'s call connection is not back")

    def ways(self, row, target, expected):
        """How a row is called on a target: both ways, or for an allowed live
        call one of them, alternating so that each way is used."""
        if row not in LIVE or cell_target(expected, target) != "allowed":
            return ("explicit", "session")
        index = sorted(LIVE).index(row) + TARGETS.index(target)
        return ("explicit",) if index % 2 else ("session",)

    def observe(self, role):
        """The role's column of the matrix, from real answers."""
        if role == "public":
            self.authenticate(None, None)
            return {row: self.probe_public(row) for row in ROWS}
        user = self.users[role]
        self.login(user)
        expected = EXPECTED[role]
        observed = defaultdict(dict)
        # A fresh session: the current instance is the first usable one.
        for row in ROWS:
            if row == "instances":
                observed[row] = self.probe_instances()
            elif row != "switch_instance":
                observed[row]["current"] = self.probe(row)
        for target, instance in self.instances.items():
            observed["switch_instance"][target] = self.probe("switch_instance", served=instance, instance=None)
            rows = [row for row in ROWS if row not in ("instances", "switch_instance")]
            for row in rows:
                if "explicit" in self.ways(row, target, expected[row]):
                    observed[row][target] = self.probe(row, instance)
            self.through_the_session(role, target, instance, rows, observed)
        return {row: compact(value) if isinstance(value, dict) else value for row, value in observed.items()}

    def probe_instances(self):
        answer = self.rpc("instances")
        if "error" in answer or not answer["result"]["success"]:
            return self.outcome("instances", answer, None)
        listed = [item["id"] for item in answer["result"]["data"]["instances"]]
        names = [name for name, instance in self.instances.items() if instance.id in listed]
        self.assertEqual(len(names), len(listed), f"instances lists unexpected instances: {listed}")
        return "lists " + (", ".join(names) or "none")

    def probe_public(self, row):
        route, params = self.request(row, self.instance_a)
        return self.outcome(row, self.rpc(route, **params), None)

    def through_the_session(self, role, target, instance, rows, observed):
        """Switch the session to ``instance``, then call each row without
        ``ha_instance_id``: the answer must be the explicit one."""
        before = self.stored_session().get("current_ha_instance_id")
        switched = self.rpc("switch_instance", instance_id=instance.id)["result"]
        expected = EXPECTED[role]
        if not switched["success"]:
            self.assertEqual(switched["error_code"], "access_denied", switched)
            self.assertEqual(self.stored_session().get("current_ha_instance_id"), before, "the session moved")
            for row in rows:
                if target not in observed[row]:
                    # Only live rows are called one way: make it the explicit one.
                    observed[row][target] = self.probe(row, instance)
            return
        for row in rows:
            if "session" not in self.ways(row, target, expected[row]):
                continue
            answer = self.probe(row, served=instance)
            if target in observed[row]:
                self.assertEqual(answer, observed[row][target], f"{row} on {target}: explicit and session differ")
            else:
                observed[row][target] = answer

    def check_role(self, role):
        self.assertEqual(self.observe(role), EXPECTED[role])

    def test_admin(self):
        self.check_role("admin")

    def test_manager(self):
        self.check_role("manager")

    def test_user_on_a_and_b(self):
        self.check_role("user_both")

    def test_user_on_a_only(self):
        self.check_role("user_a")

    def test_user_listed_nowhere(self):
        self.check_role("user_open")

    def test_internal_user(self):
        self.check_role("internal")

    def test_portal_user(self):
        self.check_role("portal")

    def test_public(self):
        self.check_role("public")

    def test_user_listed_nowhere_uses_open_instances(self):
        """What the documentation says of instances that list nobody."""
        self.instance_b.user_ids = False
        self.env.flush_all()
        self.login(self.user_open)
        self.assertEqual(self.probe_instances(), "lists B")
        self.assertEqual(self.probe("current_instance", served=self.instance_b), "allowed")
        self.assertEqual(self.probe("areas", self.instance_b), "allowed")
        self.assertEqual(self.probe("areas", self.instance_a), "access_denied")
        self.assertEqual(self.env["ir.websocket"].with_user(self.user_open)._ha_bus_channels(), self.instance_b)


@tagged("post_install", "-at_install")
class TestPermissionBus(BusMixin, PermissionMixin, HttpCase):
    """The bus: which instances' notifications of each type each role receives."""

    def instance_name(self, instance):
        return next(name for name, record in self.instances.items() if record == instance)

    def instance_channel(self, instance):
        return (self.env.cr.dbname, "ha.instance", instance.id)

    def test_instance_types_go_to_the_granted_channels(self):
        """The realtime code sends these on the instance's channel (checked by
        running its senders), and a role receives what its channels grant."""
        sent = {}
        for name, instance in self.instances.items():
            instance = instance.sudo()
            now = datetime.now(timezone.utc)
            self.env["ha.instance"]._ha_record_status(instance.id, Status("connected", now, "2025.4.4", None))
            state = {
                "entity_id": "sensor.odoo_ha_permissions_probe",
                "state": "1",
                "attributes": {},
                "last_changed": now.isoformat(),
                "last_updated": now.isoformat(),
            }
            InstanceOwner._apply_states(instance, [state])
            InstanceOwner._apply_full_sync(instance, fetch_snapshot(instance._ha_client(), 60))
            for channel, bus_type, payload in self.bus_notifications():
                self.assertEqual(payload["instance_id"], instance.id, bus_type)
                sent.setdefault(bus_type, set()).add(channel)
            for bus_type in BUS_TYPES[2:]:
                self.assertIn(self.instance_channel(instance), sent.get(bus_type, ()), f"{bus_type} of {name}")
        self.assertEqual(set(sent), set(BUS_TYPES[2:]))
        for bus_type, channels in sent.items():
            self.assertEqual(channels, {self.instance_channel(i) for i in self.instances.values()}, bus_type)

        users = {**self.users, "public": self.env.ref("base.public_user")}
        for role, user in users.items():
            granted = self.env["ir.websocket"].with_user(user)._ha_bus_channels()
            received = "".join(name for name, instance in self.instances.items() if instance in granted)
            for bus_type in BUS_TYPES[2:]:
                with self.subTest(role=role, bus_type=bus_type):
                    self.assertEqual(received, EXPECTED_BUS[role][bus_type])

    def test_user_types_go_to_the_user_only(self):
        """``ha_instance_switched`` after switching, ``ha_session_fallback``
        when the session's instance is archived: to the user concerned only."""
        for role in ROLES:
            with self.subTest(role=role):
                self.assertEqual(self.user_notifications(role), {t: EXPECTED_BUS[role][t] for t in BUS_TYPES[:2]})

    def user_notifications(self, role):
        received = {"ha_instance_switched": "", "ha_session_fallback": ""}
        if role == "public":
            self.authenticate(None, None)
        else:
            self.login(self.users[role])
        for name, instance in self.instances.items():
            self.bus_notifications()  # moves the mark past what the login sent
            switched = self.rpc("switch_instance", instance_id=instance.id)
            notifications = self.bus_notifications()
            if "result" not in switched or not switched["result"]["success"]:
                self.assertEqual(notifications, [], f"{role}: a refused switch notified someone")
                continue
            user = self.users[role]
            self.assertEqual(
                notifications,
                [
                    (
                        self.partner_channel(user),
                        "ha_instance_switched",
                        {"instance_id": instance.id, "instance_name": instance.name},
                    )
                ],
            )
            received["ha_instance_switched"] += name
            instance.active = False
            self.env.flush_all()
            self.rpc("current_instance")
            notifications = self.bus_notifications()
            fallbacks = [n for n in notifications if n[1] == "ha_session_fallback"]
            self.assertEqual([channel for channel, _type, _payload in fallbacks], [self.partner_channel(user)])
            self.assertEqual(fallbacks[0][2]["from_instance_id"], instance.id)
            self.assertEqual(fallbacks[0][2]["reason"], "archived")
            received["ha_session_fallback"] += name
            instance.active = True
            self.env.flush_all()
            # Start the next instance from a session that holds nothing stale.
            self.rpc("switch_instance", instance_id=instance.id)
        return received
