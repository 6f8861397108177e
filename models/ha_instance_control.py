"""Tell the process that owns an instance's connection what changed.

Messages go through PostgreSQL NOTIFY, delivered at commit, so the owner
never acts on a change that is rolled back; it also re-reads the instances
every few seconds, so a lost message only delays it.
"""

import json

from odoo import api, models

from ..services import pool
from ..services.supervisor import CONTROL_CHANNEL

CONNECTION_FIELDS = {"api_url", "api_token", "active"}


class HAInstance(models.Model):
    _inherit = "ha.instance"

    @api.model_create_multi
    def create(self, vals_list):
        instances = super().create(vals_list)
        instances._notify_owners("refresh")
        return instances

    def write(self, vals):
        if "active" in vals:
            vals = dict(vals, connection_state="disconnected" if vals["active"] else "disabled")
        result = super().write(vals)
        if CONNECTION_FIELDS & set(vals):
            self._notify_owners("refresh")
            if not vals.get("active", True):
                for instance in self:
                    pool.discard(self.env.cr.dbname, instance.id)
        return result

    def unlink(self):
        doomed = [(self.env.cr.dbname, instance_id) for instance_id in self.ids]
        self._notify_owners("refresh")
        result = super().unlink()
        for dbname, instance_id in doomed:
            pool.discard(dbname, instance_id)
        return result

    def _notify_owners(self, action, force=False):
        for instance_id in self.ids:
            message = {"db": self.env.cr.dbname, "instance_id": instance_id, "action": action, "force": force}
            self.env.cr.execute("SELECT pg_notify(%s, %s)", (CONTROL_CHANNEL, json.dumps(message)))

    def _restart_connection(self, force=False):
        """Reconnect the owner's connection and this process's call connection."""
        self.ensure_one()
        self._notify_owners("restart", force)
        pool.reconnect(self.env.cr.dbname, self.id)
        return {"instance_id": self.id, "connection_state": self.connection_state}

    def action_restart_connection(self):
        self.check_access("write")
        for instance in self:
            instance._restart_connection(force=True)
        return True
