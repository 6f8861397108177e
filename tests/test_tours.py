"""The dashboard in a real Chromium against the real Home Assistant peers.

The tours are in ``static/tests/tours/dashboard_tours.js``.

Live updates in test mode
-------------------------
In production a state change travels: Home Assistant -> the realtime owner
(``DatabaseSupervisor``) -> mirror and ``bus.bus`` rows at commit -> the
bus's PostgreSQL NOTIFY -> Odoo's websocket -> the page. Under HttpCase two
links of that chain are cut by Odoo's bus on purpose, and these tests put
them back:

* ``WebsocketConnectionHandler.websocket_allowed`` refuses websockets while a
  test runs; ``WebsocketCase`` (Odoo's own base class for bus tests) patches
  it to allow them.
* The registry is in test mode: every cursor (HTTP requests, websockets,
  the realtime owner's transactions) is a ``TestCursor`` inside this test's
  transaction. Its "commit" runs the precommit hooks, so the ``bus.bus`` rows
  are written, but never really commits, so no NOTIFY is sent and no
  websocket learns that notifications are waiting. :class:`BusPump` stands in
  for the NOTIFY: every 100 ms it calls
  ``WebsocketCase.trigger_notification_dispatching`` for both instances'
  channels and the user's partner channel; that runs this test cursor's own
  precommit hooks and pokes the websockets subscribed to those channels,
  which then read the new rows and send them to the browser.

All these threads share one database connection, serialized by the test
cursor lock (``registry.test_lock``) that each ``TestCursor`` holds. The pump
takes it, and so does :meth:`TestDashboardTours.authenticate` (called by
``start_tour``), which reads the user through this test's cursor directly:
without the lock, their queries could interleave with an owner transaction or
a websocket's on the shared connection.

The realtime owner is started in the test like in ``test_supervisor.py``.
"""

import threading
import time

from odoo import http
from odoo.addons.bus.tests.common import WebsocketCase
from odoo.tests import HOST, TEST_CURSOR_COOKIE_NAME, ChromeBrowser, tagged

from ..services.supervisor import DatabaseSupervisor
from .common import HACommon

URL = "/odoo/action-odoo_ha_addon.ha_dashboard_action"
BED_LIGHT = "light.bed_light"
OFFICE_LIGHT = "light.office_rgbw_lights"
# Run in the other page: wait until it shows Beta instead of Alpha.
OTHER_PAGE_FOLLOWS = """
(async () => {
    const shown = () =>
        document.querySelector(".o_ha_current_pane .o_ha_area[data-area-id=office]") &&
        !document.querySelector(".o_ha_area[data-area-id=living_room]");
    const deadline = Date.now() + 20000;
    while (!shown() && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    if (shown()) {
        console.log("test successful");
    } else {
        console.error("the other page still shows Alpha after the switch");
    }
})()
"""


class BusPump:
    """Stands in for the bus's NOTIFY while a tour runs (see the module docstring)."""

    INTERVAL = 0.1

    def __init__(self, case, channels):
        self.case = case
        self.channels = channels
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ha-test-bus-pump", daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def _run(self):
        while not self._stop.wait(self.INTERVAL):
            with self.case.registry.test_lock:
                self.case.trigger_notification_dispatching(self.channels)


@tagged("post_install", "-at_install")
class TestDashboardTours(HACommon, WebsocketCase):
    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        (cls.instance_a | cls.instance_b).action_sync_now()

    # -- helpers ------------------------------------------------------------

    def authenticate(self, user, password, browser=None):
        with self.registry.test_lock:
            return super().authenticate(user, password, browser=browser)

    def start_supervisor(self):
        supervisor = DatabaseSupervisor(self.env.cr.dbname, refresh_interval=0.2).start()
        self.addCleanup(supervisor.stop)
        return supervisor

    def start_bus_pump(self, user):
        pump = BusPump(self, [self.instance_a, self.instance_b, user.partner_id]).start()
        self.addCleanup(pump.stop)
        return pump

    def read(self, query, params=()):
        # Under the test cursor lock, like the supervisor's own reads.
        with self.registry.cursor() as cr:
            cr.execute(query, params)
            return cr.fetchall()

    def connection_state(self, instance):
        return self.read("SELECT connection_state FROM ha_instance WHERE id = %s", (instance.id,))[0][0]

    def mirror_state(self, instance, entity_id):
        rows = self.read(
            "SELECT state FROM ha_entity WHERE instance_id = %s AND entity_id = %s", (instance.id, entity_id)
        )
        return rows[0][0] if rows else None

    def wait_for(self, predicate, timeout=30, message="condition not reached"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        self.fail(f"{message} within {timeout} s")

    def set_light(self, peer, entity_id, state):
        peer.rest("POST", f"/api/services/light/turn_{state}", json={"entity_id": entity_id})
        self.wait_for(
            lambda: peer.rest("GET", f"/api/states/{entity_id}")["state"] == state, 10, f"{entity_id} {state}"
        )

    def open_page(self, session, ready, success_signal):
        """A Chromium of its own on the dashboard with ``session``, once the
        JavaScript ``ready`` is true: the first half of ``browser_js``, for
        a test that drives two browsers. The caller stops it."""
        browser = ChromeBrowser(self, success_signal=success_signal)
        try:
            browser.set_cookie("session_id", session.sid, "/", HOST)
            browser.set_cookie(TEST_CURSOR_COOKIE_NAME, self.http_request_key, "/", HOST)
            browser.navigate_to(self.base_url() + URL, wait_stop=True)
            self.assertTrue(browser._wait_ready(ready), f"page not ready: {ready}")
        except BaseException:
            browser.stop()
            raise
        return browser

    # -- tests ----------------------------------------------------------------

    def test_switch_instance_from_the_systray(self):
        self.start_tour(URL, "odoo_ha_addon_dashboard_switch", login=self.user_both.login)
        self.user_both.invalidate_recordset(["current_ha_instance_id"])
        self.assertEqual(self.user_both.current_ha_instance_id, self.instance_b, "the switch is the user's preference")

    def test_live_state_follows_home_assistant(self):
        """The tile shows Home Assistant's state from the bus, not only the
        optimistic one: after the page's own toggle, the light is turned
        back on in Home Assistant directly, and the tile must follow."""
        self.set_light(self.peer_a, BED_LIGHT, "on")
        # Records are read before the owner starts: from then on, only under the lock.
        login = self.user_both.login
        self.start_bus_pump(self.user_both)
        self.start_supervisor()
        self.wait_for(lambda: self.connection_state(self.instance_a) == "connected", message="Alpha connected")
        self.wait_for(lambda: self.mirror_state(self.instance_a, BED_LIGHT) == "on", 10, "mirror on")

        # Once the tour's toggle has reached Home Assistant and come back to
        # the mirror, turn the light on again behind the page's back.
        turned_back_on = threading.Event()
        stop = threading.Event()

        def turn_back_on():
            deadline = time.monotonic() + 60
            while not stop.is_set() and time.monotonic() < deadline:
                if self.mirror_state(self.instance_a, BED_LIGHT) == "off":
                    # Leaves the tour time to see the accepted "off" first.
                    stop.wait(1.0)
                    self.peer_a.rest("POST", "/api/services/light/turn_on", json={"entity_id": BED_LIGHT})
                    turned_back_on.set()
                    return
                stop.wait(0.1)

        helper = threading.Thread(target=turn_back_on, name="ha-test-turn-back-on", daemon=True)
        helper.start()
        try:
            self.start_tour(URL, "odoo_ha_addon_dashboard_live", login=login, timeout=90)
        finally:
            stop.set()
            helper.join(10)
        self.assertTrue(turned_back_on.is_set(), "the page's toggle never reached Home Assistant")
        self.assertEqual(self.peer_a.rest("GET", f"/api/states/{BED_LIGHT}")["state"], "on")

    def test_refused_change_is_reverted(self):
        # The user's preference: the dashboard opens on Beta.
        self.user_both.current_ha_instance_id = self.instance_b
        pergola = self.env["ha.entity"].search(
            [("instance_id", "=", self.instance_b.id), ("entity_id", "=", "cover.pergola_roof")]
        )
        self.assertEqual(pergola.state, "closed")
        # The roof only tilts; make the mirror claim it opens and closes
        # (features 1 and 2) so that the page offers what Home Assistant refuses.
        pergola.attributes = {**pergola.attributes, "supported_features": pergola.attributes["supported_features"] | 3}
        self.start_tour(URL, "odoo_ha_addon_dashboard_refused", login=self.user_both.login)

    def test_compare_leaves_the_session_alone(self):
        """The compared instance is read and controlled with explicit ids."""
        self.set_light(self.peer_b, OFFICE_LIGHT, "on")
        self.instance_b.action_sync_now()
        self.start_tour(URL, "odoo_ha_addon_dashboard_compare", login=self.user_both.login)
        self.assertEqual(self.peer_b.rest("GET", f"/api/states/{OFFICE_LIGHT}")["state"], "off", "Beta was controlled")
        stored = http.root.session_store.get(self.session.sid)
        self.assertNotEqual(stored.get("current_ha_instance_id"), self.instance_b.id, "the session is untouched")
        self.user_both.invalidate_recordset(["current_ha_instance_id"])
        self.assertNotEqual(self.user_both.current_ha_instance_id, self.instance_b)

    def test_reconnect_button_for_managers_only(self):
        self.start_tour(URL, "odoo_ha_addon_dashboard_reconnect", login=self.manager.login)
        self.start_tour(URL, "odoo_ha_addon_dashboard_no_reconnect", login=self.user_both.login)

    def test_no_instance(self):
        self.start_tour(URL, "odoo_ha_addon_dashboard_no_instance_user", login=self.user_open.login)
        (self.instance_a | self.instance_b).write({"active": False})
        self.start_tour(URL, "odoo_ha_addon_dashboard_no_instance_manager", login=self.manager.login)

    def test_switch_reaches_the_users_other_page(self):
        """Two pages of one session: a switch in one shows in the other.

        Odoo's ``ChromeBrowser`` drives one page. A second page in the same
        Chromium cannot be used: the web client refuses to be framed
        (``X-Frame-Options: DENY``) and a second tab would resume the running
        tour, whose state web_tour keeps in localStorage. So the other page
        is a second ``ChromeBrowser`` on the same session: a separate
        browser, with its own bus connection, that receives the switch the
        way every tab does (``ha_instance_switched`` on the user's channel,
        turned into ``instance_switched`` by the ``ha_data`` service).
        """
        self.start_bus_pump(self.user_both)
        session = self.authenticate(self.user_both.login, self.user_both.login)
        tour = "odoo_ha_addon_dashboard_switch"
        first = self.open_page(session, f"odoo.isTourReady({tour!r})", "tour succeeded")
        try:
            other = self.open_page(
                session,
                "!!document.querySelector('.o_ha_area[data-area-id=living_room] .o_ha_entity')",
                "test successful",
            )
            try:
                first._wait_code_ok(f"odoo.startTour({tour!r}, {{stepDelay: 0, debug: false, startUrl: {URL!r}}})", 60)
                other._wait_code_ok(OTHER_PAGE_FOLLOWS, 30)
            finally:
                other.stop()
        finally:
            first.stop()
            self._wait_remaining_requests()
