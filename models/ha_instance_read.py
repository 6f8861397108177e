"""Mirrored data as the routes answer it: read from Odoo, no Home Assistant round trip."""

from odoo import models

from ..exceptions import NotFound


class HAInstance(models.Model):
    _inherit = "ha.instance"

    def _areas_payload(self):
        self.ensure_one()
        areas = self.env["ha.area"].search_fetch(
            [("instance_id", "=", self.id)], ["area_id", "name", "floor_id"], order="name, id"
        )
        return [
            {
                "area_id": area.area_id,
                "name": area.name,
                "floor_id": area.floor_id or None,
                "entity_count": area.entity_count,
            }
            for area in areas
        ]

    def _entities_by_area_payload(self, area_id):
        self.ensure_one()
        # order="id": the model's default order would join ha_instance for nothing.
        area = self.env["ha.area"].search(
            [("instance_id", "=", self.id), ("area_id", "=", area_id)], limit=1, order="id"
        )
        if not area:
            raise NotFound(self.env._("%(instance)s has no area %(area)s.", instance=self.name, area=area_id[:100]))
        entities = self.env["ha.entity"].search_fetch(
            [("area_id", "=", area.id)],
            ["entity_id", "name", "domain", "state", "attributes", "device_id"],
            order="entity_id",
        )
        return [
            {
                "entity_id": entity.entity_id,
                "name": entity.name,
                "domain": entity.domain,
                "state": entity.state,
                "attributes": entity.attributes or {},
                "device_id": entity.device_id.device_id or None,
            }
            for entity in entities
        ]
