from odoo import api, fields, models


class HAFloor(models.Model):
    """A floor of Home Assistant's floor registry, mirrored from one instance."""

    _name = "ha.floor"
    _description = "Home Assistant floor"
    _order = "instance_id, level, name, id"
    # The field holding Home Assistant's id, and that id's key in HA's registry items.
    _ha_key = "floor_id"
    _ha_item_key = "floor_id"

    instance_id = fields.Many2one("ha.instance", required=True, ondelete="cascade", index=True, readonly=True)
    floor_id = fields.Char(string="Floor ID", required=True, readonly=True)
    name = fields.Char(readonly=True)
    level = fields.Integer(readonly=True, help="Position of the floor in the building, 0 being the ground floor.")
    icon = fields.Char(readonly=True)
    aliases = fields.Json(readonly=True)
    area_ids = fields.One2many("ha.area", "ha_floor_id", string="Areas", readonly=True)

    _sql_constraints = [
        ("instance_floor_unique", "UNIQUE(instance_id, floor_id)", "A floor appears once per Home Assistant instance."),
    ]

    @api.model
    def _ha_vals(self, item, links):
        """Values mirrored from an item of ``config/floor_registry/list``."""
        return {
            "name": item.get("name"),
            "level": item.get("level"),
            "icon": item.get("icon"),
            "aliases": item.get("aliases"),
        }
