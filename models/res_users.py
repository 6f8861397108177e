from odoo import fields, models


class ResUsers(models.Model):
    _inherit = "res.users"

    current_ha_instance_id = fields.Many2one(
        "ha.instance",
        string="Current Home Assistant instance",
        ondelete="set null",
        help="The instance this user works on when their session names none.",
    )
