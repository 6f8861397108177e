from odoo import api, fields, models


class HADevice(models.Model):
    """A device of Home Assistant's device registry, mirrored from one instance."""

    _name = "ha.device"
    _description = "Home Assistant device"
    _order = "instance_id, name, id"
    # The field holding Home Assistant's id, and that id's key in HA's registry items.
    _ha_key = "device_id"
    _ha_item_key = "id"

    instance_id = fields.Many2one("ha.instance", required=True, ondelete="cascade", index=True, readonly=True)
    device_id = fields.Char(string="Device ID", required=True, readonly=True)
    name = fields.Char(readonly=True, help="The name given in Home Assistant, else the integration's name.")
    manufacturer = fields.Char(readonly=True)
    model = fields.Char(readonly=True)
    sw_version = fields.Char(string="Software version", readonly=True)
    hw_version = fields.Char(string="Hardware version", readonly=True)
    area_id = fields.Many2one("ha.area", string="Area", ondelete="set null", index=True, readonly=True)
    label_ids = fields.Many2many(
        "ha.label", "ha_device_label_rel", "device_id", "label_id", string="Labels", readonly=True
    )
    disabled_by = fields.Char(readonly=True, help="Who disabled the device in Home Assistant (user, integration…).")
    via_device_id = fields.Char(
        string="Via device ID", readonly=True, help="Home Assistant ID of the device this one talks through (a hub)."
    )
    entry_type = fields.Char(readonly=True, help="'service' for devices that are online services, not hardware.")
    entity_ids = fields.One2many("ha.entity", "device_id", string="Entities", readonly=True)
    entity_count = fields.Integer(compute="_compute_entity_count", string="Entities")

    _sql_constraints = [
        (
            "instance_device_unique",
            "UNIQUE(instance_id, device_id)",
            "A device appears once per Home Assistant instance.",
        ),
    ]

    @api.model
    def _ha_vals(self, item, links):
        """Values mirrored from an item of ``config/device_registry/list``;
        ``links`` resolves Home Assistant ids of areas and labels."""
        return {
            "name": item.get("name_by_user") or item.get("name"),
            "manufacturer": item.get("manufacturer"),
            "model": item.get("model"),
            "sw_version": item.get("sw_version"),
            "hw_version": item.get("hw_version"),
            "area_id": links.one("area", item.get("area_id")),
            "label_ids": links.many("label", item.get("labels")),
            "disabled_by": item.get("disabled_by"),
            "via_device_id": item.get("via_device_id"),
            "entry_type": item.get("entry_type"),
        }

    @api.depends("entity_ids")
    def _compute_entity_count(self):
        counts = dict(self.env["ha.entity"]._read_group([("device_id", "in", self.ids)], ["device_id"], ["__count"]))
        for device in self:
            device.entity_count = counts.get(device, 0)
