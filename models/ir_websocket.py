from odoo import models


class IrWebsocket(models.AbstractModel):
    _inherit = "ir.websocket"

    def _build_bus_channel_list(self, channels):
        channels = super()._build_bus_channel_list(channels)
        channels.extend(self._ha_bus_channels())
        return channels

    def _ha_bus_channels(self):
        """The instances whose notifications the current user receives.

        The channels are records granted here after the record rules: a
        browser can only name string channels, never an instance's.
        """
        user = self.env.user
        if not user or user._is_public() or not user.has_group("odoo_ha_addon.group_ha_user"):
            return self.env["ha.instance"]
        return self.env["ha.instance"].search([])
