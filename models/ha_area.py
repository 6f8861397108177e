from odoo import api, fields, models


class HAArea(models.Model):
    """An area of Home Assistant's area registry, mirrored from one instance."""

    _name = "ha.area"
    _description = "Home Assistant area"
    _order = "instance_id, name, id"
    # The field holding Home Assistant's id, and that id's key in HA's registry items.
    _ha_key = "area_id"
    _ha_item_key = "area_id"

    instance_id = fields.Many2one("ha.instance", required=True, ondelete="cascade", index=True, readonly=True)
    area_id = fields.Char(string="Area ID", required=True, readonly=True)
    name = fields.Char(readonly=True)
    # Home Assistant's own reference is kept as well: it is what the routes
    # report, and it lets the floor link be restored when the floor registry
    # is synchronised after the areas.
    floor_id = fields.Char(string="Floor ID", readonly=True)
    ha_floor_id = fields.Many2one("ha.floor", string="Floor", ondelete="set null", index=True, readonly=True)
    icon = fields.Char(readonly=True)
    picture = fields.Char(readonly=True, help="Path of the area's picture on the Home Assistant server.")
    aliases = fields.Json(readonly=True)
    label_ids = fields.Many2many("ha.label", "ha_area_label_rel", "area_id", "label_id", string="Labels", readonly=True)
    entity_ids = fields.One2many("ha.entity", "area_id", string="Entities", readonly=True)
    entity_count = fields.Integer(compute="_compute_entity_count", string="Entities")

    _sql_constraints = [
        ("instance_area_unique", "UNIQUE(instance_id, area_id)", "An area appears once per Home Assistant instance."),
    ]

    @api.model
    def _ha_vals(self, item, links):
        """Values mirrored from an item of ``config/area_registry/list``;
        ``links`` resolves Home Assistant ids of floors and labels."""
        return {
            "name": item.get("name"),
            "floor_id": item.get("floor_id"),
            "ha_floor_id": links.one("floor", item.get("floor_id")),
            "icon": item.get("icon"),
            "picture": item.get("picture"),
            "aliases": item.get("aliases"),
            "label_ids": links.many("label", item.get("labels")),
        }

    @api.depends("entity_ids")
    def _compute_entity_count(self):
        counts = dict(self.env["ha.entity"]._read_group([("area_id", "in", self.ids)], ["area_id"], ["__count"]))
        for area in self:
            area.entity_count = counts.get(area, 0)
