from odoo import api, fields, models


class HAEntity(models.Model):
    """A Home Assistant entity mirrored from one instance."""

    _name = "ha.entity"
    _description = "Home Assistant entity"
    _order = "instance_id, entity_id"
    _rec_name = "entity_id"

    instance_id = fields.Many2one("ha.instance", required=True, ondelete="cascade", index=True)
    entity_id = fields.Char(string="Entity ID", required=True, index=True)
    domain = fields.Char(compute="_compute_domain", store=True, index=True)
    name = fields.Char()
    state = fields.Char()
    attributes = fields.Json()

    _sql_constraints = [
        (
            "instance_entity_unique",
            "UNIQUE(instance_id, entity_id)",
            "An entity appears once per Home Assistant instance.",
        ),
    ]

    @api.depends("entity_id")
    def _compute_domain(self):
        for entity in self:
            entity.domain = (entity.entity_id or "").partition(".")[0]
