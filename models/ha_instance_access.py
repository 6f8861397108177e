"""What the current user may do on an instance, as the routes report it."""

from odoo import api, models

from ..exceptions import InstanceAccessDenied, NoInstance

MANAGER_GROUP = "odoo_ha_addon.group_ha_manager"


class HAInstance(models.Model):
    _inherit = "ha.instance"

    @api.model
    def _instances_payload(self, current):
        return {
            "instances": [
                {
                    "id": instance.id,
                    "name": instance.name,
                    "connection_state": instance.connection_state,
                    "ha_version": instance.ha_version or None,
                    "is_current": instance == current,
                }
                for instance in self._get_accessible_instances()
            ],
            "current_instance_id": current.id or None,
        }

    @api.model
    def _check_user_access(self, session, operation, entity_id=None, instance_id=None):
        """Return ``(allowed, reason)``; a denial is an answer, not an error."""
        try:
            instance = self._resolve_for_request(session, instance_id).instance
        except (NoInstance, InstanceAccessDenied) as denial:
            return False, denial.message
        is_manager = self.env.user.has_group(MANAGER_GROUP)
        if operation == "manage" and not is_manager:
            return False, self.env._("Only Home Assistant managers may manage instances.")
        if entity_id:
            entity = self.env["ha.entity"].search(
                [("instance_id", "=", instance.id), ("entity_id", "=", entity_id)], limit=1
            )
            if not entity:
                return False, self.env._(
                    "%(entity)s is not an entity of %(instance)s.",
                    entity=entity_id,
                    instance=instance.name,
                )
        if is_manager:
            return True, self.env._("Home Assistant managers may do this on every instance.")
        return True, self.env._("You are allowed on %(instance)s.", instance=instance.name)
