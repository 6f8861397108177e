from odoo.tests import TransactionCase, tagged

from ..exceptions import InstanceAccessDenied, NoInstance
from ..models.ha_instance_resolution import SESSION_KEY
from .common import BusMixin, HACommon


@tagged("post_install", "-at_install")
class TestResolution(BusMixin, HACommon, TransactionCase):
    """Every branch of the current-instance resolution, with its bus rows."""

    def resolve(self, user, session, instance_id=None):
        return self.env["ha.instance"].with_user(user)._resolve_for_request(session, instance_id)

    def resolve_error(self, user, session, instance_id=None):
        """The error a resolution raises. Not ``assertRaises``: that rolls
        back to a savepoint and would drop the bus rows under test."""
        try:
            self.resolve(user, session, instance_id)
        except (NoInstance, InstanceAccessDenied) as error:
            return error
        self.fail("the resolution did not fail")

    def assertFallback(self, user, from_id, instance, reason):
        self.assertEqual(
            self.bus_notifications(),
            [
                (
                    self.partner_channel(user),
                    "ha_session_fallback",
                    {
                        "from_instance_id": from_id,
                        "instance_id": instance.id or None,
                        "instance_name": instance.name or None,
                        "reason": reason,
                    },
                )
            ],
        )

    def test_session_valid(self):
        session = {SESSION_KEY: self.instance_b.id}
        resolution = self.resolve(self.user_both, session)
        self.assertEqual((resolution.instance, resolution.source), (self.instance_b, "session"))
        self.assertEqual(session, {SESSION_KEY: self.instance_b.id})
        self.assertEqual(self.bus_notifications(), [])

    def test_session_deleted(self):
        doomed = self.instance_b.copy({"name": "Doomed", "user_ids": [(6, 0, self.user_both.ids)]})
        doomed_id = doomed.id
        doomed.unlink()
        session = {SESSION_KEY: doomed_id}
        resolution = self.resolve(self.user_both, session)
        self.assertEqual((resolution.instance, resolution.source), (self.instance_a, "first_accessible"))
        self.assertNotIn(SESSION_KEY, session)
        self.assertFallback(self.user_both, doomed_id, self.instance_a, "deleted")

    def test_session_archived(self):
        self.instance_b.active = False
        session = {SESSION_KEY: self.instance_b.id}
        resolution = self.resolve(self.user_both, session)
        self.assertEqual(resolution.instance, self.instance_a)
        self.assertNotIn(SESSION_KEY, session)
        self.assertFallback(self.user_both, self.instance_b.id, self.instance_a, "archived")

    def test_session_access_revoked(self):
        session = {SESSION_KEY: self.instance_a.id}
        self.instance_a.user_ids = [(3, self.user_both.id)]
        resolution = self.resolve(self.user_both, session)
        self.assertEqual((resolution.instance, resolution.source), (self.instance_b, "first_accessible"))
        self.assertNotIn(SESSION_KEY, session)
        self.assertFallback(self.user_both, self.instance_a.id, self.instance_b, "access_revoked")
        # Only the affected user hears about it.
        self.assertEqual(self.bus_notifications(), [])

    def test_session_fallback_to_preference(self):
        self.user_both.current_ha_instance_id = self.instance_b
        self.instance_a.active = False
        session = {SESSION_KEY: self.instance_a.id}
        resolution = self.resolve(self.user_both, session)
        self.assertEqual((resolution.instance, resolution.source), (self.instance_b, "user_preference"))
        self.assertFallback(self.user_both, self.instance_a.id, self.instance_b, "archived")

    def test_preference_valid(self):
        self.user_both.current_ha_instance_id = self.instance_b
        session = {}
        resolution = self.resolve(self.user_both, session)
        self.assertEqual((resolution.instance, resolution.source), (self.instance_b, "user_preference"))
        self.assertEqual(session, {}, "resolution does not write the session")
        self.assertEqual(self.bus_notifications(), [])

    def test_preference_invalid_is_cleared_and_reported_once(self):
        self.user_both.current_ha_instance_id = self.instance_b
        # Emptying the list would open B to everyone: name someone else.
        self.instance_b.user_ids = [(6, 0, self.user_a.ids)]
        resolution = self.resolve(self.user_both, {})
        self.assertEqual((resolution.instance, resolution.source), (self.instance_a, "first_accessible"))
        self.assertFalse(self.user_both.current_ha_instance_id)
        self.assertFallback(self.user_both, self.instance_b.id, self.instance_a, "access_revoked")
        self.resolve(self.user_both, {})
        self.assertEqual(self.bus_notifications(), [], "a cleared preference is not reported again")

    def test_session_and_preference_same_stale_instance_report_once(self):
        self.user_both.current_ha_instance_id = self.instance_b
        self.instance_b.active = False
        session = {SESSION_KEY: self.instance_b.id}
        self.resolve(self.user_both, session)
        self.assertFalse(self.user_both.current_ha_instance_id)
        self.assertFallback(self.user_both, self.instance_b.id, self.instance_a, "archived")

    def test_first_accessible_honours_rules_and_order(self):
        self.assertEqual(self.resolve(self.user_both, {}).instance, self.instance_a)
        self.instance_b.sequence = 0
        self.assertEqual(self.resolve(self.user_both, {}).instance, self.instance_b)
        # user_a may not read B even though it comes first now.
        self.assertEqual(self.resolve(self.user_a, {}).instance, self.instance_a)
        # Same sequence: the lower id wins.
        self.instance_b.sequence = self.instance_a.sequence
        self.assertEqual(self.resolve(self.user_both, {}).instance, self.instance_a)

    def test_first_accessible_open_instance(self):
        self.assertIsInstance(self.resolve_error(self.user_open, {}), NoInstance)
        self.instance_b.user_ids = False
        resolution = self.resolve(self.user_open, {})
        self.assertEqual((resolution.instance, resolution.source), (self.instance_b, "first_accessible"))

    def test_none_left(self):
        session = {SESSION_KEY: self.instance_a.id}
        (self.instance_a | self.instance_b).active = False
        self.assertEqual(self.resolve_error(self.user_both, session).code, "no_instance")
        self.assertNotIn(SESSION_KEY, session)
        self.assertFallback(self.user_both, self.instance_a.id, self.env["ha.instance"], "archived")

    def test_explicit_instance_leaves_session_alone(self):
        session = {SESSION_KEY: self.instance_a.id}
        resolution = self.resolve(self.user_both, session, self.instance_b.id)
        self.assertEqual((resolution.instance, resolution.source), (self.instance_b, "explicit"))
        self.assertEqual(session, {SESSION_KEY: self.instance_a.id})

    def test_explicit_instance_denied_alike_whether_it_exists_or_not(self):
        session = {SESSION_KEY: 999999}
        forbidden = self.resolve_error(self.user_a, session, self.instance_b.id)
        missing = self.resolve_error(self.user_a, session, 2**31 - 1)
        self.assertIsInstance(forbidden, InstanceAccessDenied)
        self.assertEqual((forbidden.code, forbidden.message), (missing.code, missing.message))
        self.assertEqual(session, {SESSION_KEY: 999999}, "explicit mode never touches the session")
        self.assertEqual(self.bus_notifications(), [])

    def test_switch_sets_session_preference_and_notifies_that_user(self):
        session = {}
        self.instance_b.with_user(self.user_both)._switch_to(session)
        self.assertEqual(session, {SESSION_KEY: self.instance_b.id})
        self.assertEqual(self.user_both.current_ha_instance_id, self.instance_b)
        self.assertEqual(
            self.bus_notifications(),
            [
                (
                    self.partner_channel(self.user_both),
                    "ha_instance_switched",
                    {"instance_id": self.instance_b.id, "instance_name": "Beta"},
                )
            ],
        )
