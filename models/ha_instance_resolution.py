"""Which Home Assistant instance a request works on.

Every JSON route goes through :meth:`HAInstance._resolve_for_request`, so the
order (session, then user preference, then first accessible instance) lives
in one place. The methods are small hooks so that other addons can refine
them (for example to prefer an instance per company).
"""

from collections import namedtuple

from odoo import api, models

from ..exceptions import InstanceAccessDenied, NoInstance

SESSION_KEY = "current_ha_instance_id"

Resolution = namedtuple("Resolution", "instance source")


class HAInstance(models.Model):
    _inherit = "ha.instance"

    @api.model
    def _get_accessible_instances(self):
        """Active instances the current user may read, by sequence then id."""
        return self.search([])

    @api.model
    def _get_usable_instance(self, instance_id):
        """The instance if it exists, is active and readable, else empty."""
        if not instance_id:
            return self.browse()
        return self.search([("id", "=", instance_id)], limit=1)

    @api.model
    def _unusable_reason(self, instance_id):
        instance = self.sudo().with_context(active_test=False).browse(instance_id).exists()
        if not instance:
            return "deleted"
        if not instance.active:
            return "archived"
        return "access_revoked"

    @api.model
    def _resolve_for_request(self, session, instance_id=None):
        """Return the :class:`Resolution` for a request.

        With an explicit ``instance_id`` the session is neither read nor
        changed, and an instance the user may not use is refused with the same
        answer whether it exists or not.
        """
        if instance_id is not None:
            instance = self._get_usable_instance(instance_id)
            if not instance:
                raise InstanceAccessDenied(self.env._("You do not have access to this Home Assistant instance."))
            return Resolution(instance, "explicit")

        stale_id = None
        session_id = session.get(SESSION_KEY)
        if session_id:
            instance = self._get_usable_instance(session_id)
            if instance:
                return Resolution(instance, "session")
            session.pop(SESSION_KEY, None)
            stale_id = session_id

        user = self.env.user
        preferred = user.sudo().current_ha_instance_id
        if preferred:
            instance = self._get_usable_instance(preferred.id)
            if instance:
                resolution = Resolution(instance, "user_preference")
            else:
                # Cleared so that a lost preference is reported once, not on
                # every request.
                user.sudo().current_ha_instance_id = False
                stale_id = stale_id or preferred.id
                resolution = None
        else:
            resolution = None

        if resolution is None:
            first = self._get_accessible_instances()[:1]
            resolution = Resolution(first, "first_accessible") if first else None

        if stale_id:
            self._notify_session_fallback(stale_id, resolution and resolution.instance)
        if resolution is None:
            raise NoInstance(
                self.env._("No Home Assistant instance is available to you. Ask a Home Assistant manager for access.")
            )
        return resolution

    @api.model
    def _notify_session_fallback(self, from_instance_id, instance):
        self.env.user._bus_send(
            "ha_session_fallback",
            {
                "from_instance_id": from_instance_id,
                "instance_id": instance.id if instance else None,
                "instance_name": instance.name if instance else None,
                "reason": self._unusable_reason(from_instance_id),
            },
        )

    def _switch_to(self, session):
        """Make this instance the user's current one (session and preference)."""
        self.ensure_one()
        session[SESSION_KEY] = self.id
        self.env.user.sudo().current_ha_instance_id = self
        self.env.user._bus_send("ha_instance_switched", {"instance_id": self.id, "instance_name": self.name})
