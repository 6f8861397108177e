from odoo import api, fields, models


class HALabel(models.Model):
    """A label of Home Assistant's label registry, mirrored from one instance."""

    _name = "ha.label"
    _description = "Home Assistant label"
    _order = "instance_id, name, id"
    # The field holding Home Assistant's id, and that id's key in HA's registry items.
    _ha_key = "label_id"
    _ha_item_key = "label_id"

    instance_id = fields.Many2one("ha.instance", required=True, ondelete="cascade", index=True, readonly=True)
    label_id = fields.Char(string="Label ID", required=True, readonly=True)
    name = fields.Char(readonly=True)
    # Home Assistant colours are theme names ("red", "indigo") or CSS colours.
    color = fields.Char(readonly=True)
    icon = fields.Char(readonly=True)
    description = fields.Char(readonly=True)

    _sql_constraints = [
        ("instance_label_unique", "UNIQUE(instance_id, label_id)", "A label appears once per Home Assistant instance."),
    ]

    @api.model
    def _ha_vals(self, item, links):
        """Values mirrored from an item of ``config/label_registry/list``."""
        return {
            "name": item.get("name"),
            "color": item.get("color"),
            "icon": item.get("icon"),
            "description": item.get("description"),
        }
