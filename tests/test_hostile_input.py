"""Hostile input on every JSON route of the contract.

Every route is called over real HTTP, with a real session, with what a buggy
or hostile client could send: wrong JSON types, missing and unknown keys,
100 kB strings and 10,000-item lists, out-of-range and non-integer ids, ids
of instances the user may not use, unknown areas and entities,
injection-looking and odd unicode strings, oversized batches, and bodies
that are not JSON-RPC at all.

Every answer must be the contract's envelope with ``success: false`` and the
fitting ``error_code`` (``call_services`` answers one failed envelope per
call, ``check_access`` answers ``allowed: false``), over HTTP 200, without a
traceback or a token, and nothing may be written: the instances, mirror,
user preferences, bus and session are compared with a snapshot after every
call.

Two layers:

- hand-picked values, one fault at a time, for every parameter of every
  route (user on instance A only; the values that fail validation again as a
  manager; a sample as an internal user, refused before any validation);
- hypothesis-generated combinations of one to three faults per call, with
  ``derandomize`` so that every run makes the same calls: a failure is
  reproducible and the case counts are stable.

The expected answer is worked out from the contract, not from
``controllers/params.py``: a malformed value fails validation
(``invalid_params``) before the instance is resolved (``access_denied``),
which comes before the route's own checks (``not_found``, service policy).

The inputs of the bugs this sweep found (NUL bytes, lone surrogates, a
trailing newline, non-string entity ids in service data) stay in the sweep
and have regression tests at the end of the class; what Odoo answers before
the addon runs is pinned by ``test_known_bug_odoo_answers_with_a_traceback``.
"""

import functools
import json
import logging
import re
import sys
import unittest
from collections import Counter

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from odoo.tests import HttpCase, tagged
from odoo.tools import mute_logger

from .common import HACommon, RouteMixin
from .test_permissions import sync_mirrors

_logger = logging.getLogger(__name__)

HUGE_TEXT = "x" * 100_000
TRACEBACK_MARKERS = ("Traceback (most recent call last)", 'File "/')
# An error message may quote a little of the input, never all of it.
MAX_MESSAGE = 1000

# The addon's documented limits (restated, not imported: the expectations
# must not share the code they check).
SLUG_RE = re.compile(r"[a-z0-9_]{1,64}")
ENTITY_RE = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
TARGET_KEYS = ("entity_id", "device_id", "area_id", "floor_id", "label_id")
MAX_TEXT = 255
MAX_DATA = 64 * 1024
MAX_BATCH = 100

# Where a fault is caught: the group check, then parameter validation, then
# the instance resolution, then the route body. The first failing step answers.
GROUP, PARSE, RESOLVE, BODY = range(4)
INVALID = (PARSE, "invalid_params")
BAD, UNKNOWN = "bad", "unknown"

INJECTIONS = [
    "' OR '1'='1",
    "1; DROP TABLE ha_instance; --",
    '" OR ""="',
    "<script>alert(1)</script>",
    "javascript:alert(1)",
    "../../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "%(x)s",
    "%s%s%s%n",
    "{0}",
    "{0.__class__.__mro__}",
    "${jndi:ldap://127.0.0.1/a}",
    "{{7*7}}",
    "\u202egnp.exe",
    "ünïcødé",
    "😀🏠",
    "键盘",
    "\t\r\n",
    " ",
    "\\",
    "'",
    '"',
    "%",
    "_",
    "*",
    "\u200b",
    "\ufeff",
    "\x7f",
    "NaN",
    "null",
    "0",
]
NON_STRINGS = [0, 1, -1, 2**63, 10**30, 1.5, float("nan"), float("inf"), True, False, [], ["x"], {}, {"x": 1}]
OUT_OF_RANGE_IDS = [0, -1, -(2**31), 2**31, 2**32, 2**63, -(2**63), 2**64, 10**30]
NON_INTEGER_IDS = [
    "1",
    "",
    "abc",
    "1 OR 1=1",
    1.0,
    1.5,
    -0.5,
    1e308,
    float("nan"),
    float("inf"),
    float("-inf"),
    True,
    False,
    [],
    [1],
    {},
    {"id": 1},
    HUGE_TEXT,
    [1] * 10_000,
]
NON_BOOLEANS = [0, 1, "true", "false", "", "yes", 1.0, 2**63, float("nan"), [], [True], {}, {"x": True}, HUGE_TEXT]
EXTRA_KEYS = [
    "foo",
    "",
    " ",
    "context",
    "__proto__",
    "constructor",
    "kwargs",
    "args",
    "ctx",
    "params",
    "jsonrpc",
    "HA_INSTANCE_ID",
    "ha_instance_id ",
    "x" * 100_000,
    "%(x)s",
    "{0}",
    "' OR 1=1 --",
    "\x00",
    "é",
    "😀",
    "\u202e",
]
UNKNOWN_ENTITY = "light.odoo_ha_no_such_light"
MISSING = object()  # a fault that drops a required parameter


def nested(depth):
    """``{"a": {"a": ... 1}}``, ``depth`` levels: deep, yet within what Odoo's JSON parser accepts."""
    value = 1
    for _level in range(depth):
        value = {"a": value}
    return value


def data_size(value):
    return len(json.dumps(value))


def is_text_list(value):
    return isinstance(value, list) and all(isinstance(item, str) for item in value)


def describe(value, limit=300):
    """A short repr of a possibly huge input, for failure messages."""
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def known_bug(reason):
    """Mark a test that shows an open bug, like ``unittest.expectedFailure``.

    Odoo's ``TestCase.run`` (under pytest-odoo as under ``odoo-bin``) does
    not honour ``unittest.expectedFailure``: it would count as a failure. A
    failing body is reported as a skip that names the bug instead, and a
    passing body fails so that the marker goes away with the fix.
    """

    def decorator(method):
        @functools.wraps(method)
        def wrapper(self):
            try:
                # The bugs log what they raise: expected here, and not an error of the run.
                loggers = ("odoo.http", "odoo.sql_db", "werkzeug", "odoo.addons.odoo_ha_addon.controllers.common")
                with mute_logger(*loggers):
                    try:
                        method(self)
                    finally:
                        # The server logs an HTTP 500 after answering it.
                        self._wait_remaining_requests()
            except AssertionError as error:
                first_line = str(error).strip().splitlines()[0][:300]
                raise unittest.SkipTest(f"known bug (expected failure): {reason} -- {first_line}") from None
            self.fail(f"The known bug looks fixed, remove @known_bug: {reason}")

        return wrapper

    return decorator


# -- value pools: (value, tag), tag BAD (fails validation) or UNKNOWN (valid,
# but names nothing the user may use) -------------------------------------------


def classify_text(value, pattern=None, max_length=MAX_TEXT):
    """BAD unless a non-empty string within the bounds (and the pattern)."""
    if not isinstance(value, str) or not value or len(value) > max_length:
        return BAD
    if pattern is not None and not pattern.fullmatch(value):
        return BAD
    return UNKNOWN


def ids_ok(ids):
    """An id or a list of ids: non-empty text PostgreSQL can store."""
    items = [ids] if isinstance(ids, str) else ids
    return is_text_list(items) and all(
        item and len(item) <= MAX_TEXT and "\x00" not in item and not any("\ud800" <= c <= "\udfff" for c in item)
        for item in items
    )


def classify_target(value):
    if not isinstance(value, dict) or data_size(value) > MAX_DATA:
        return BAD
    if any(key not in TARGET_KEYS or not ids_ok(ids) for key, ids in value.items()):
        return BAD
    return UNKNOWN


def classify_service_data(value):
    """Service data is Home Assistant's business, except the target keys it
    may carry: those are checked like a target's."""
    if not isinstance(value, dict) or data_size(value) > MAX_DATA:
        return BAD
    if any(not ids_ok(value[key]) for key in TARGET_KEYS if key in value):
        return BAD
    return UNKNOWN


safe_characters = st.characters(exclude_categories=("Cs",), exclude_characters="\x00")


def safe_text(**kwargs):
    return st.text(alphabet=safe_characters, **kwargs)


json_scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), safe_text(max_size=20))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(safe_text(max_size=8), children, max_size=4),
    max_leaves=8,
)
# Values of a size no generated example reaches: built from a small draw.
huge_values = st.builds(
    lambda item, count, as_list: [item] * count if as_list else item * count,
    st.sampled_from(["x", "é", "😀", "'", "%(x)s"]),
    st.sampled_from([256, 65_537, 100_000]),
    st.booleans(),
)


FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    database=None,
    # Each example is an HTTP round trip, and some values are 100 kB on purpose.
    suppress_health_check=list(HealthCheck),
)


@tagged("post_install", "-at_install")
class TestHostileInput(RouteMixin, HACommon, HttpCase):
    """Every route, with hostile input, as an HA user of instance A (and a
    manager and an internal user for a part of it)."""

    counts = Counter()
    layers = Counter()

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        sync_mirrors(cls.instance_a | cls.instance_b)
        Instance = cls.env["ha.instance"]
        # An archived instance user_a was allowed on, and the id of a deleted one.
        cls.instance_archived = Instance.create(
            {"name": "Archived", "api_url": cls.peer_a.url, "user_ids": [(6, 0, [cls.user_a.id])], "active": False}
        )
        deleted = Instance.create({"name": "Deleted", "api_url": cls.peer_a.url})
        cls.deleted_id = deleted.id
        deleted.unlink()
        Area, Entity = cls.env["ha.area"].sudo(), cls.env["ha.entity"].sudo()
        cls.areas_a = set(Area.search([("instance_id", "=", cls.instance_a.id)]).mapped("area_id"))
        cls.areas_b = set(Area.search([("instance_id", "=", cls.instance_b.id)]).mapped("area_id"))
        cls.entities_a = set(Entity.search([("instance_id", "=", cls.instance_a.id)]).mapped("entity_id"))
        cls.entities_b = set(Entity.search([("instance_id", "=", cls.instance_b.id)]).mapped("entity_id"))
        assert "kitchen" in cls.areas_a and "light.ceiling_lights" in cls.entities_a, "the mirror of Alpha is empty"
        cls.area_b_only = sorted(cls.areas_b - cls.areas_a)[0]
        cls.entity_b_only = sorted(cls.entities_b - cls.entities_a)[0] if cls.entities_b - cls.entities_a else None

    @classmethod
    def tearDownClass(cls):
        if cls.counts:
            lines = [f"{route:<18} {count:>5}" for route, count in sorted(cls.counts.items())]
            per_layer = ", ".join(f"{layer} {count}" for layer, count in sorted(cls.layers.items()))
            total = sum(cls.counts.values())
            summary = f"hostile input: {total} calls ({per_layer}); per route:\n  " + "\n  ".join(lines)
            _logger.info(summary)
            if not _logger.isEnabledFor(logging.INFO):
                # pytest-odoo silences Odoo's loggers: show it with -s.
                sys.stderr.write(summary + "\n")
        super().tearDownClass()

    def setUp(self):
        super().setUp()
        self.as_user(self.user_a)

    def as_user(self, user):
        """Log ``user`` in with the session on their first instance, and take
        the snapshot every call is compared with."""
        self.login(user)
        if user.has_group("odoo_ha_addon.group_ha_user"):
            # The session holds an instance: a failed call must not change it.
            self.ok("switch_instance", instance_id=self.instance_a.id)
        self.user = user
        self.is_manager = user.has_group("odoo_ha_addon.group_ha_manager")
        self.has_group = user.has_group("odoo_ha_addon.group_ha_user")
        self.baseline = self.snapshot()

    # -- what the sweep user may not use -------------------------------------

    def unusable_instance_ids(self):
        """Valid ids of instances user_a may not use: another user's, an
        archived one, a deleted one, one that never existed."""
        return [self.instance_b.id, self.instance_archived.id, self.deleted_id, 2**31 - 1]

    # -- snapshot ------------------------------------------------------------

    def snapshot(self):
        self.env.cr.execute(
            """
            SELECT (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM ha_instance t),
                   (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM ha_entity t),
                   (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM ha_area t),
                   (SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t.id), '')) FROM ha_device t),
                   (SELECT string_agg(concat_ws(':', id, current_ha_instance_id, write_date), '|' ORDER BY id)
                      FROM res_users),
                   (SELECT coalesce(max(id), 0) FROM bus_bus)
            """
        )
        names = ("instances", "entities", "areas", "devices", "users", "bus")
        database = dict(zip(names, self.env.cr.fetchone(), strict=True))
        # _trace is Odoo's own per-request activity log in the session.
        session = {key: value for key, value in self.stored_session().items() if key != "_trace"}
        return {**database, "session": session}

    def assert_nothing_written(self, what):
        after = self.snapshot()
        changed = {key: (self.baseline[key], after[key]) for key in after if after[key] != self.baseline[key]}
        self.assertFalse(changed, f"{what} wrote something: {changed}")

    def test_snapshot_sees_what_a_call_writes(self):
        """The harness itself: a call that does write is noticed."""
        self.ok("switch_instance", instance_id=self.instance_a.id)
        after = self.snapshot()
        self.assertNotEqual(after["users"], self.baseline["users"], "the preference write went unnoticed")
        self.assertNotEqual(after["bus"], self.baseline["bus"], "the bus notification went unnoticed")
        self.baseline = after
        self.instance_archived.sudo().active = True
        self.env.flush_all()
        self.ok("switch_instance", instance_id=self.instance_archived.id)
        self.assertNotEqual(self.snapshot()["session"], self.baseline["session"], "the session change went unnoticed")

    # -- one call --------------------------------------------------------------

    def post(self, route, body, content_type="application/json"):
        return self.url_open(f"/odoo_ha_addon/{route}", data=body, headers={"Content-Type": content_type})

    def assert_clean(self, response, what, status=200):
        self.assertEqual(response.status_code, status, f"{what}: {response.text[:500]}")
        for token in self.tokens:
            self.assertNotIn(token, response.text, f"{what}: a token leaked")
        for marker in TRACEBACK_MARKERS:
            self.assertNotIn(marker, response.text, f"{what}: a traceback leaked")

    def check(self, route, params, expected, layer):
        """Call ``route`` with ``params`` and check the answer.

        ``expected``: an error code or a set of acceptable ones, ``"denied"``
        (``check_access`` answering ``allowed: false``) or ``("results",
        codes)`` (``call_services``: one failed envelope per call).
        """
        what = f"{route} as {self.user.login} with {describe(params)}"
        body = json.dumps({"jsonrpc": "2.0", "method": "call", "id": 1, "params": params})
        response = self.post(route, body)
        self.assert_clean(response, what)
        payload = response.json()
        self.assertIn("result", payload, f"{what}: not an envelope: {describe(payload, 1000)}")
        result = payload["result"]
        if expected == "denied":
            self.assertEqual(set(result), {"success", "data"}, f"{what}: {describe(result)}")
            self.assertEqual(result["success"], True, f"{what}: {describe(result)}")
            self.assertEqual(result["data"]["allowed"], False, f"{what}: {describe(result)}")
            self.assertIsInstance(result["data"]["reason"], str)
        elif isinstance(expected, tuple):
            codes = list(expected[1])
            self.assertEqual(result.get("success"), True, f"{what}: {describe(result)}")
            results = result["data"]["results"]
            self.assertEqual([item.get("error_code") for item in results], codes, what)
            for item in results:
                self.assert_failure_envelope(item, what)
        else:
            expected = {expected} if isinstance(expected, str) else expected
            self.assert_failure_envelope(result, what)
            self.assertIn(result["error_code"], expected, f"{what}: {describe(result)}")
        self.assert_nothing_written(what)
        self.counts[route] += 1
        self.layers[layer] += 1
        return result

    def assert_failure_envelope(self, result, what):
        self.assertEqual(set(result), {"success", "error", "error_code"}, f"{what}: {describe(result)}")
        self.assertIs(result["success"], False, what)
        self.assertIsInstance(result["error"], str, what)
        self.assertTrue(result["error"], what)
        self.assertLessEqual(len(result["error"]), MAX_MESSAGE, f"{what}: the message echoes the input")

    # -- the routes' parameters ---------------------------------------------------

    def route_params(self, route):
        """``{name: (kind, required, outcome when UNKNOWN)}`` for the sweep user.

        Every route that works on an instance takes ``ha_instance_id``.
        """
        denied = (BODY, "access_denied")
        instance = {"ha_instance_id": ("record_id", False, (RESOLVE, "access_denied"))}
        return {
            "instances": {},
            "current_instance": instance,
            "switch_instance": {"instance_id": ("record_id", True, denied)},
            "hardware_info": instance,
            "network_info": instance,
            "ha_urls": instance,
            "websocket_status": instance,
            "websocket_restart": {"force": ("boolean", False, None), **instance},
            "areas": instance,
            "entities_by_area": {"area_id": ("area_id", True, (BODY, "not_found")), **instance},
            "call_service": {
                "domain": ("domain", True, denied),
                "service": ("service", True, None),
                "service_data": ("service_data", False, denied),
                "target": ("target", False, denied),
                "return_response": ("boolean", False, None),
                **instance,
            },
            "call_services": {"calls": ("calls", True, None), **instance},
            "check_access": {
                "operation": ("operation", True, (BODY, "denied")),
                "entity_id": ("entity_id", False, (BODY, "denied")),
                "ha_instance_id": ("record_id", False, (BODY, "denied")),
            },
        }[route]

    def base_params(self, route):
        """A valid call of ``route``; every case adds at least one fault, so
        none of these is ever made (and no service is ever called)."""
        allowed_call = {"domain": "light", "service": "turn_on", "target": {"entity_id": "light.ceiling_lights"}}
        return {
            "switch_instance": {"instance_id": self.instance_a.id},
            "websocket_restart": {"force": False},
            "entities_by_area": {"area_id": "kitchen"},
            "call_service": dict(allowed_call),
            "call_services": {"calls": [allowed_call]},
            "check_access": {"operation": "read"},
        }.get(route, {})

    ROUTES = (
        "instances",
        "current_instance",
        "switch_instance",
        "hardware_info",
        "network_info",
        "ha_urls",
        "websocket_status",
        "websocket_restart",
        "areas",
        "entities_by_area",
        "call_service",
        "call_services",
        "check_access",
    )
    MANAGER_ONLY = ("websocket_restart",)

    def expectation(self, route, outcomes):
        """The answer to a call with these faults: the earliest step fails."""
        if not self.has_group or (route in self.MANAGER_ONLY and not self.is_manager):
            return "access_denied"
        first = min(rank for rank, _outcome in outcomes)
        answers = {outcome for rank, outcome in outcomes if rank == first}
        self.assertEqual(len(answers), 1, f"ambiguous expectation {answers}: fix the test")
        return answers.pop()

    # -- hand-picked values --------------------------------------------------------

    def explicit_values(self, kind):
        """``[(value, tag)]``: every category of the issue for a kind."""
        if kind == "record_id":
            return [(value, BAD) for value in OUT_OF_RANGE_IDS + NON_INTEGER_IDS] + [
                (value, UNKNOWN) for value in self.unusable_instance_ids()
            ]
        if kind == "boolean":
            return [(value, BAD) for value in NON_BOOLEANS]
        strings = INJECTIONS + ["", HUGE_TEXT, "x" * (MAX_TEXT + 1), "x" * MAX_TEXT, "x" * 65]
        if kind in ("domain", "service"):
            strings += ["Light", "light.turn_on", "light turn_on", " light", "light\t", "zzz_no_such_domain"]
            values = [(value, BAD) for value in NON_STRINGS + [["light"] * 10_000]]
            values += [(value, classify_text(value, SLUG_RE)) for value in strings]
            # A valid service name would reach Home Assistant: keep to invalid ones.
            return [(value, tag) for value, tag in values if kind == "domain" or tag == BAD]
        if kind == "area_id":
            strings += ["KITCHEN", " kitchen", "kitchen ", "kitchen\t", self.area_b_only, "x" * MAX_TEXT]
            values = [(value, BAD) for value in NON_STRINGS + [["kitchen"] * 10_000]]
            return values + [(value, classify_text(value)) for value in strings if value not in self.areas_a]
        if kind == "entity_id":
            strings += ["light", "light.", ".x", "Light.X", "light.x.y", "light x", "light.x ", "light.x\x00"]
            strings += [UNKNOWN_ENTITY, "light." + "x" * MAX_TEXT, "sensor.%(x)s", "light.{0}"]
            strings += [self.entity_b_only] if self.entity_b_only else []
            values = [(value, BAD) for value in NON_STRINGS + [[UNKNOWN_ENTITY] * 10_000]]
            return values + [(value, classify_text(value, ENTITY_RE)) for value in strings]
        if kind == "operation":
            values = ["", "READ", "Read", "delete", "read ", " read", "read\n", "manage\x00", HUGE_TEXT, 1.5]
            values += INJECTIONS + [0, True, [], ["read"], {}, {"read": 1}]
            return [(value, BAD) for value in values] + [("manage", UNKNOWN)]
        if kind == "target":
            values = [
                "light.ceiling_lights",
                ["light.ceiling_lights"],
                5,
                True,
                1.5,
                [],
                {"entity_id": 5},
                {"entity_id": [5]},
                {"entity_id": [None]},
                {"entity_id": None},
                {"entity_id": True},
                {"entity_id": {"light.ceiling_lights": 1}},
                {"everything": "x"},
                {"": "x"},
                {"ENTITY_ID": "light.ceiling_lights"},
                {"entity_id": "light.ceiling_lights", "extra": 1},
                {"entity_id": ["x" * (MAX_TEXT + 1)]},
                {"entity_id": HUGE_TEXT},
                {"entity_id": ["light.ceiling_lights"] * 10_000},
                {"entity_id": [f"light.l{index}" for index in range(10_000)]},
                {"area_id": 5},
                # Under the size limit and well formed, but naming nothing the user may use.
                {"entity_id": ["x"] * 10_000},
                {"entity_id": UNKNOWN_ENTITY},
                {"entity_id": ["light.ceiling_lights", UNKNOWN_ENTITY]},
                {"entity_id": []},
                {},
                {"area_id": "kitchen"},
                {"device_id": "any"},
                {"floor_id": "x"},
                {"label_id": ["x"]},
                {"entity_id": "all"},
                {"entity_id": "none"},
                {"entity_id": "x" * MAX_TEXT},
            ]
            values += [{"entity_id": value} for value in INJECTIONS]
            values += [{"entity_id": self.entity_b_only}] if self.entity_b_only else []
            return [(value, classify_target(value)) for value in values]
        if kind == "service_data":
            values = [
                [],
                "x",
                5,
                True,
                1.5,
                [{"entity_id": "light.ceiling_lights"}],
                {"x": HUGE_TEXT},
                {f"k{index}": index for index in range(10_000)},
                {"x": ["y"] * 15_000},
                {"entity_id": UNKNOWN_ENTITY},
                {"entity_id": [UNKNOWN_ENTITY]},
                {"entity_id": {UNKNOWN_ENTITY: 1}},
                {"area_id": "kitchen"},
                {"device_id": "x"},
                {"entity_id": "all"},
                {"brightness": "%(x)s", "entity_id": UNKNOWN_ENTITY},
                {"entity_id": UNKNOWN_ENTITY, "x": ["y"] * 10_000},
                {"entity_id": UNKNOWN_ENTITY, "x": nested(500)},
            ]
            values += [{"entity_id": value} for value in INJECTIONS]
            return [(value, classify_service_data(value)) for value in values]
        if kind == "calls":
            return self.explicit_calls()
        raise AssertionError(kind)

    def denied_call(self, **changes):
        """A well-formed call outside the service policy: refused before Home Assistant."""
        return {"domain": "light", "service": "turn_on", "target": {"entity_id": UNKNOWN_ENTITY}, **changes}

    def explicit_calls(self):
        denied = self.denied_call()
        big_denied = self.denied_call(service_data={"x": "y" * 60_000})
        bad_items = [
            5,
            "x",
            None,
            [],
            {},
            {"domain": "light"},
            {**denied, "extra": 1},
            {**denied, "return_response": True},
            {**denied, "domain": "Light"},
            {**denied, "service": HUGE_TEXT},
            {**denied, "target": "x"},
            {**denied, "service_data": []},
            {**denied, "service_data": {"x": HUGE_TEXT}},
        ]
        values = [(value, BAD) for value in [{}, "x", 5, True, 1.5, {"0": denied}, [], HUGE_TEXT]]
        values += [([denied] * (MAX_BATCH + 1), BAD), ([denied] * 10_000, BAD)]
        values += [([item], ("invalid_params",)) for item in bad_items]
        values += [
            ([denied], ("access_denied",)),
            ([{"domain": "homeassistant", "service": "restart"}], ("access_denied",)),
            ([self.denied_call(target={"area_id": "kitchen"})], ("access_denied",)),
            ([denied] * MAX_BATCH, ("access_denied",) * MAX_BATCH),
            # About 6 MB: every call just under the data limit.
            ([big_denied] * MAX_BATCH, ("access_denied",) * MAX_BATCH),
            ([5, denied, {"domain": "x"}], ("invalid_params", "access_denied", "invalid_params")),
        ]
        return values

    def fault_outcome(self, route, name, tag):
        kind, _required, unknown = self.route_params(route)[name]
        if tag == BAD:
            return INVALID
        if tag == UNKNOWN:
            self.assertIsNotNone(unknown, f"{kind} has no UNKNOWN values")
            return unknown
        return (BODY, ("results", tag))

    def explicit_cases(self, route):
        """``[(params, [outcome])]``: one fault per case."""
        spec = self.route_params(route)
        base = self.base_params(route)
        cases = []
        for name, (kind, required, _unknown) in spec.items():
            for value, tag in self.explicit_values(kind):
                cases.append(({**base, name: value}, [self.fault_outcome(route, name, tag)]))
            if required:
                cases.append(({key: value for key, value in base.items() if key != name}, [INVALID]))
                cases.append(({**base, name: None}, [INVALID]))
        for key in EXTRA_KEYS + ["instance_id", "ha_instance_id"]:
            if key not in spec:
                cases.append(({**base, key: 1}, [INVALID]))
        cases.append(({**base, **{f"extra_{index}": index for index in range(10_000)}}, [INVALID]))
        cases.append(({**base, "extra": nested(500)}, [INVALID]))
        return cases

    def run_explicit(self, route):
        for params, outcomes in self.explicit_cases(route):
            with self.subTest(route=route, params=describe(params, 120)):
                self.check(route, params, self.expectation(route, outcomes), "hand-picked")

    # -- generated values ----------------------------------------------------------------

    def value_strategy(self, kind, required):
        """Strategy of ``(value, tag)`` for a kind; ``None`` is "absent" for
        an optional parameter, so it is only drawn for required ones."""
        bad_values = json_values if required else json_values.filter(lambda value: value is not None)

        def bad(strategy):
            return strategy.map(lambda value: (value, BAD))

        if kind == "record_id":
            return st.one_of(
                bad(st.integers(max_value=0) | st.integers(min_value=2**31)),
                bad(bad_values.filter(lambda value: not isinstance(value, int) or isinstance(value, bool))),
                bad(huge_values),
                st.sampled_from(self.unusable_instance_ids()).map(lambda value: (value, UNKNOWN)),
            )
        if kind == "boolean":
            return bad(bad_values.filter(lambda value: not isinstance(value, bool)) | huge_values)
        if kind in ("domain", "service", "area_id", "entity_id", "operation"):
            pattern = {"domain": SLUG_RE, "service": SLUG_RE, "entity_id": ENTITY_RE}.get(kind)
            texts = safe_text(max_size=80) | huge_values
            if kind == "entity_id":
                texts |= st.from_regex(r"[a-z0-9_]{1,12}\.[a-z0-9_]{1,20}", fullmatch=True)
            if kind == "domain":
                texts |= st.from_regex(SLUG_RE, fullmatch=True)
            if kind == "operation":
                values = (bad_values | texts).filter(lambda value: value not in ("read", "control", ["read"]))
                return values.map(lambda value: (value, UNKNOWN if value == "manage" else BAD))
            # Values that would make the call valid: an area or entity of A,
            # or the domain of the call's entity.
            usable = {"area_id": self.areas_a, "entity_id": self.entities_a, "domain": {"light", "homeassistant"}}
            values = (bad_values | texts).filter(
                lambda value: not (isinstance(value, str) and value in usable.get(kind, ()))
            )
            values = values.map(lambda value: (value, classify_text(value, pattern)))
            if kind == "service":
                values = values.filter(lambda pair: pair[1] == BAD)
            return values
        if kind == "target":
            entity_ids = safe_text(max_size=MAX_TEXT).filter(lambda value: value not in self.entities_a)
            return st.one_of(
                bad_values,
                huge_values,
                st.dictionaries(safe_text(max_size=12), json_values, min_size=1, max_size=3),
                st.fixed_dictionaries({"entity_id": json_values | st.lists(entity_ids, min_size=1, max_size=5)}),
                st.dictionaries(st.sampled_from(TARGET_KEYS[1:]), safe_text(min_size=1, max_size=20), min_size=1),
            ).map(lambda value: (value, classify_target(value)))
        if kind == "service_data":
            entity_ids = safe_text(max_size=MAX_TEXT).filter(lambda value: value not in self.entities_a)
            junk = st.dictionaries(
                safe_text(max_size=12).filter(lambda key: key not in TARGET_KEYS), json_values, max_size=4
            )
            # At least one entity the user cannot see: the policy refuses the call.
            denied = st.builds(
                lambda data, ids: {**data, "entity_id": ids}, junk, entity_ids | st.lists(entity_ids, min_size=1)
            )
            return st.one_of(bad_values.filter(lambda value: not isinstance(value, dict)), huge_values, denied).map(
                lambda value: (value, classify_service_data(value))
            )
        if kind == "calls":
            return st.one_of(
                bad(bad_values.filter(lambda value: not isinstance(value, list)) | huge_values),
                bad(st.builds(lambda count: [self.denied_call()] * count, st.integers(MAX_BATCH + 1, 10_000))),
                st.lists(self.call_item_strategy(), min_size=1, max_size=5).map(
                    lambda items: ([value for value, _code in items], tuple(code for _value, code in items))
                ),
            )
        raise AssertionError(kind)

    def call_item_strategy(self):
        """``(call, error_code)``: one item of a ``call_services`` batch."""
        unknown_entities = st.from_regex(r"light\.[a-z0-9_]{1,20}", fullmatch=True).filter(
            lambda value: value not in self.entities_a
        )
        field_faults = st.one_of(
            st.tuples(st.just("domain"), json_values | safe_text()),
            st.tuples(st.just("service"), json_values | safe_text()),
            st.tuples(st.just("service_data"), json_values.filter(lambda value: not isinstance(value, dict))),
            st.tuples(st.just("target"), json_values.filter(lambda value: not isinstance(value, dict))),
            st.tuples(safe_text(max_size=12).filter(lambda key: key not in self.denied_call()), json_values),
        )

        def with_fault(fault):
            name, value = fault
            call = {**self.denied_call(), name: value}
            if name in ("domain", "service") and classify_text(value, SLUG_RE) == UNKNOWN:
                # A valid name keeps the call well formed: outside the policy.
                return call, "access_denied"
            if name in ("service_data", "target") and value is None:
                return call, "access_denied"
            return call, "invalid_params"

        return st.one_of(
            json_values.filter(lambda value: not isinstance(value, dict)).map(lambda value: (value, "invalid_params")),
            field_faults.map(with_fault),
            unknown_entities.map(lambda entity: (self.denied_call(target={"entity_id": entity}), "access_denied")),
        )

    def fault_strategy(self, route):
        """Strategy of ``(name, value or MISSING, tag)``: one fault."""
        spec = self.route_params(route)
        options = [
            self.value_strategy(kind, required).map(lambda pair, name=name: (name, pair[0], pair[1]))
            for name, (kind, required, _unknown) in spec.items()
        ]
        options += [st.just((name, MISSING, BAD)) for name, (_k, required, _u) in spec.items() if required]
        extra_keys = st.text(max_size=20).filter(lambda key: key not in spec and key != "self")
        options.append(st.tuples(extra_keys, json_values, st.just(BAD)))
        return st.one_of(options)

    def run_generated(self, route, data):
        base = self.base_params(route)
        if "ha_instance_id" in self.route_params(route) and route != "check_access" and data.draw(st.booleans()):
            # The instance given explicitly rather than taken from the session.
            base["ha_instance_id"] = self.instance_a.id
        faults = data.draw(
            st.lists(self.fault_strategy(route), min_size=1, max_size=3, unique_by=lambda fault: fault[0]),
            label="faults",
        )
        params, outcomes = dict(base), []
        for name, value, tag in faults:
            if value is MISSING:
                params.pop(name, None)
            else:
                params[name] = value
            if name in self.route_params(route):
                outcomes.append(INVALID if value is MISSING else self.fault_outcome(route, name, tag))
            else:
                outcomes.append(INVALID)
        self.check(route, params, self.expectation(route, outcomes), "generated")

    # -- 1. hand-picked, as an HA user of instance A ------------------------------------

    def test_explicit_instance_routes(self):
        for route in ("instances", "current_instance", "switch_instance", "websocket_status", "websocket_restart"):
            self.run_explicit(route)

    def test_explicit_live_routes(self):
        for route in ("hardware_info", "network_info", "ha_urls"):
            self.run_explicit(route)

    def test_explicit_mirror_routes(self):
        for route in ("areas", "entities_by_area"):
            self.run_explicit(route)

    def test_explicit_call_service(self):
        self.run_explicit("call_service")

    def test_explicit_call_services(self):
        self.run_explicit("call_services")

    def test_explicit_check_access(self):
        self.run_explicit("check_access")

    # -- 2. the same validation for a manager, and nothing for a non-HA user -----------

    def test_explicit_as_manager(self):
        """Managers pass the group check and the policy: only the values that
        fail validation are sent, so no call reaches Home Assistant."""
        self.as_user(self.manager)
        for route in self.ROUTES:
            for params, outcomes in self.explicit_cases(route):
                if outcomes == [INVALID]:
                    with self.subTest(route=route, params=describe(params, 120)):
                        self.check(route, params, "invalid_params", "manager")

    def test_non_ha_user_is_refused_before_validation(self):
        """An internal user learns nothing from the validation messages."""
        self.as_user(self.internal)
        for route in self.ROUTES:
            for params, _outcomes in self.explicit_cases(route)[::15]:
                with self.subTest(route=route, params=describe(params, 120)):
                    result = self.check(route, params, "access_denied", "internal user")
                    self.assertNotIn("must", result["error"])

    # -- 3. generated ---------------------------------------------------------------------

    @FUZZ
    @given(data=st.data())
    def test_generated_instances(self, data):
        self.run_generated("instances", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_current_instance(self, data):
        self.run_generated("current_instance", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_switch_instance(self, data):
        self.run_generated("switch_instance", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_hardware_info(self, data):
        self.run_generated("hardware_info", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_network_info(self, data):
        self.run_generated("network_info", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_ha_urls(self, data):
        self.run_generated("ha_urls", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_websocket_status(self, data):
        self.run_generated("websocket_status", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_websocket_restart(self, data):
        self.run_generated("websocket_restart", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_areas(self, data):
        self.run_generated("areas", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_entities_by_area(self, data):
        self.run_generated("entities_by_area", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_call_service(self, data):
        self.run_generated("call_service", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_call_services(self, data):
        self.run_generated("call_services", data)

    @FUZZ
    @given(data=st.data())
    def test_generated_check_access(self, data):
        self.run_generated("check_access", data)

    # -- 4. what Odoo answers before the addon ---------------------------------------------

    MALFORMED_BODIES = [
        "",
        "{",
        "{bad json}",
        '{"params": {',
        "{'params': {}}",
        '{"params": {}} trailing',
        "\x00",
        "x" * 100_000,
        # Python refuses integers of more than 4300 digits.
        '{"params": {"ha_instance_id": 1' + "0" * 5000 + "}}",
    ]
    NON_OBJECT_BODIES = ["[]", "[1, 2]", "null", "5", '"params"', "true"]
    # Odoo builds the keyword arguments with dict(params): these fail there.
    NON_DICT_PARAMS = [[1, 2], None, "ab", 5, True, 1.5, [[1, 2, 3]]]

    def raw_cases(self):
        """``[(label, body)]`` of JSON-RPC bodies Odoo cannot turn into keyword arguments."""
        cases = [(f"params={describe(params)}", {"params": params}) for params in self.NON_DICT_PARAMS]
        cases.append(("a parameter named self", {"params": {"self": 1}}))
        nested = '{"jsonrpc": "2.0", "params": {"area_id": ' + "[" * 100_000 + "]" * 100_000 + "}}"
        return [(label, json.dumps({"jsonrpc": "2.0", "id": 1, **body})) for label, body in cases] + [
            ("100,000 nested lists", nested)
        ]

    @mute_logger("odoo.http")
    def test_bodies_odoo_refuses(self):
        """Malformed JSON, a body that is not a JSON-RPC object, another
        content type or method: Odoo answers 400 before the addon runs."""
        for route in self.ROUTES:
            for body in self.MALFORMED_BODIES:
                with self.subTest(route=route, body=describe(body, 60)):
                    response = self.post(route, body)
                    self.assert_clean(response, f"{route} with {describe(body, 60)}", status=400)
                    self.assertEqual(response.text, "Invalid JSON data")
                    self.assert_nothing_written(route)
                    self.counts[route] += 1
                    self.layers["Odoo"] += 1
            for body in self.NON_OBJECT_BODIES:
                with self.subTest(route=route, body=body):
                    response = self.post(route, body)
                    self.assert_clean(response, f"{route} with {body}", status=400)
                    self.assertEqual(response.text, "Invalid JSON-RPC data")
                    self.assert_nothing_written(route)
                    self.counts[route] += 1
                    self.layers["Odoo"] += 1
            with self.subTest(route=route, content_type="text/plain"):
                response = self.post(route, json.dumps({"params": {}}), content_type="text/plain")
                self.assert_clean(response, f"{route} as text/plain", status=400)
                response = self.url_open(f"/odoo_ha_addon/{route}")
                self.assert_clean(response, f"GET {route}", status=400)
                self.assert_nothing_written(route)
                self.counts[route] += 2
                self.layers["Odoo"] += 2

    @mute_logger("odoo.http")
    def test_params_odoo_cannot_pass(self):
        """``params`` that is not an object, a parameter named ``self`` or
        nesting deeper than Python's recursion limit fail in Odoo's
        dispatcher, before the addon: Odoo answers its JSON-RPC error over
        HTTP 200 (not a 500). That this error carries a traceback is pinned
        by test_known_bug_odoo_answers_with_a_traceback."""
        for route in self.ROUTES:
            for label, body in self.raw_cases():
                with self.subTest(route=route, case=label):
                    response = self.post(route, body)
                    self.assertEqual(response.status_code, 200, f"{route} with {label}: {response.text[:300]}")
                    for token in self.tokens:
                        self.assertNotIn(token, response.text)
                    error = response.json()["error"]
                    self.assertEqual(error["message"], "Odoo Server Error", f"{route} with {label}")
                    self.assertIn(
                        error["data"]["name"], {"builtins.TypeError", "builtins.ValueError", "builtins.RecursionError"}
                    )
                    self.assert_nothing_written(f"{route} with {label}")
                    self.counts[route] += 1
                    self.layers["Odoo"] += 1
            # A list of pairs is what dict() accepts: Odoo passes it on as keywords.
            with self.subTest(route=route, case="params as a list of pairs"):
                body = json.dumps({"jsonrpc": "2.0", "id": 1, "params": [["surprise", 1]]})
                response = self.post(route, body)
                self.assert_clean(response, f"{route} with a list of pairs")
                self.assert_failure_envelope(response.json()["result"], route)
                self.assertEqual(response.json()["result"]["error_code"], self.expectation(route, [INVALID]))
                self.assert_nothing_written(route)
                self.counts[route] += 1
                self.layers["Odoo"] += 1

    # -- 5. regressions of the bugs this sweep found, and Odoo's own answers -------------

    def test_unencodable_area_id(self):
        for value in ("kitchen\x00", "\x00", "\ud800", "kitchen\udfff"):
            self.check("entities_by_area", {"area_id": value}, {"invalid_params", "not_found"}, "regression")

    def test_unencodable_entity_ids(self):
        for value in ("light.a\x00", "\ud800"):
            for where in ("target", "service_data"):
                params = {"domain": "light", "service": "turn_on", where: {"entity_id": value}}
                self.check("call_service", params, {"invalid_params", "access_denied"}, "regression")

    def test_service_data_entity_id_types(self):
        for value in (5, True, 1.5, [{}], [["light.ceiling_lights"]]):
            data = {"entity_id": value}
            self.check(
                "call_service",
                {"domain": "light", "service": "turn_on", "service_data": data},
                {"invalid_params", "access_denied"},
                "regression",
            )
        calls = [self.denied_call(), {"domain": "light", "service": "turn_on", "service_data": {"entity_id": 5}}]
        self.check("call_services", {"calls": calls}, ("results", ("access_denied", "invalid_params")), "regression")

    def test_trailing_newline(self):
        self.check("check_access", {"operation": "read", "entity_id": "light.ceiling_lights\n"}, "invalid_params", "")
        self.check("call_service", {"domain": "light\n", "service": "turn_on"}, "invalid_params", "regression")
        self.check(
            "call_service",
            {"domain": "light", "service": "turn_on\n", "target": {"entity_id": "light.ceiling_lights"}},
            "invalid_params",
            "regression",
        )

    def test_unencodable_parameter_name(self):
        for route in ("instances", "areas", "call_service"):
            self.check(route, {"\ud800": 1}, "invalid_params", "regression")

    @known_bug(
        "params that is not a JSON object, a parameter named self, or too deep a nesting fail in Odoo's"
        " JsonRPCDispatcher before the addon: the JSON-RPC error carries the server's traceback in"
        " error.data.debug (an ir.http override of the addon's routes could answer invalid_params instead)"
    )
    def test_known_bug_odoo_answers_with_a_traceback(self):
        for label, body in self.raw_cases():
            response = self.post("areas", body)
            for marker in TRACEBACK_MARKERS:
                self.assertNotIn(marker, response.text, f"areas with {label}: a traceback in the answer")
