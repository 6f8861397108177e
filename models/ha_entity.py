import json
from datetime import datetime, timezone

from odoo import api, fields, models

UNAVAILABLE = "unavailable"


def ha_datetime(value):
    """Home Assistant's ISO 8601 timestamp as the naive UTC datetime Odoo
    stores, microseconds kept: they order two updates of the same second."""
    if not value:
        return None
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return moment


def entity_name(registry_name, original_name, attributes):
    """The name Home Assistant shows: the one given in its entity registry,
    else the state's friendly name, else the integration's name."""
    return registry_name or (attributes or {}).get("friendly_name") or original_name or False


def entity_icon(registry_icon, attributes):
    return registry_icon or (attributes or {}).get("icon") or False


class HAEntity(models.Model):
    """A Home Assistant entity mirrored from one instance: the union of its
    entity registry entry (if any) and its current state (if any)."""

    _name = "ha.entity"
    _description = "Home Assistant entity"
    _order = "instance_id, entity_id"
    _rec_name = "entity_id"
    # The field holding Home Assistant's id, and that id's key in HA's registry items.
    _ha_key = "entity_id"
    _ha_item_key = "entity_id"

    instance_id = fields.Many2one("ha.instance", required=True, ondelete="cascade", index=True, readonly=True)
    entity_id = fields.Char(string="Entity ID", required=True, index=True, readonly=True)
    domain = fields.Char(compute="_compute_domain", store=True, index=True, precompute=True)
    name = fields.Char(compute="_compute_name", store=True, precompute=True)
    icon = fields.Char(compute="_compute_icon", store=True, precompute=True)

    # State, as Home Assistant reports it.
    state = fields.Char(readonly=True)
    available = fields.Boolean(
        compute="_compute_available",
        store=True,
        precompute=True,
        help="False when Home Assistant reports the entity unavailable or has no state for it. "
        "An 'unknown' state is available: the entity works but its value is not known yet.",
    )
    attributes = fields.Json(readonly=True)
    attributes_text = fields.Text(string="Attributes (JSON)", compute="_compute_attributes_text")
    last_changed = fields.Datetime(readonly=True, help="When the state last changed, according to Home Assistant.")
    last_updated = fields.Datetime(
        readonly=True, help="When the state or its attributes last changed, according to Home Assistant."
    )

    # Entity registry entry; unique_id is empty for entities that have none.
    unique_id = fields.Char(readonly=True)
    platform = fields.Char(readonly=True, help="The integration that provides the entity.")
    registry_name = fields.Char(readonly=True, help="Name given to the entity in Home Assistant.")
    original_name = fields.Char(readonly=True, help="Name the integration gives the entity.")
    registry_icon = fields.Char(readonly=True, help="Icon chosen for the entity in Home Assistant.")
    device_id = fields.Many2one("ha.device", string="Device", ondelete="set null", index=True, readonly=True)
    own_area_id = fields.Many2one(
        "ha.area",
        string="Own area",
        ondelete="set null",
        index=True,
        readonly=True,
        help="The area set on the entity itself in Home Assistant.",
    )
    area_id = fields.Many2one(
        "ha.area",
        string="Area",
        compute="_compute_area_id",
        store=True,
        precompute=True,
        index=True,
        help="The entity's own area, else the area of its device, as Home Assistant places it.",
    )
    label_ids = fields.Many2many(
        "ha.label", "ha_entity_label_rel", "entity_id", "label_id", string="Labels", readonly=True
    )
    disabled_by = fields.Char(readonly=True)
    hidden_by = fields.Char(readonly=True)
    entity_category = fields.Char(readonly=True, help="'config' or 'diagnostic' for entities that are not primary.")

    _sql_constraints = [
        (
            "instance_entity_unique",
            "UNIQUE(instance_id, entity_id)",
            "An entity appears once per Home Assistant instance.",
        ),
    ]

    @api.model
    def _ha_vals(self, item, links):
        """Values mirrored from an item of ``config/entity_registry/list``
        (``{}`` for an entity without entry clears them); ``links`` resolves
        Home Assistant ids of devices, areas and labels."""
        return {
            "unique_id": item.get("unique_id"),
            "platform": item.get("platform"),
            "registry_name": item.get("name"),
            "original_name": item.get("original_name"),
            "registry_icon": item.get("icon"),
            "device_id": links.one("device", item.get("device_id")),
            "own_area_id": links.one("area", item.get("area_id")),
            "label_ids": links.many("label", item.get("labels")),
            "disabled_by": item.get("disabled_by"),
            "hidden_by": item.get("hidden_by"),
            "entity_category": item.get("entity_category"),
        }

    @api.model
    def _ha_state_vals(self, state):
        """Values mirrored from a Home Assistant state object."""
        return {
            "state": state.get("state"),
            "attributes": state.get("attributes") or None,
            "last_changed": ha_datetime(state.get("last_changed")),
            "last_updated": ha_datetime(state.get("last_updated")),
        }

    @api.depends("entity_id")
    def _compute_domain(self):
        for entity in self:
            entity.domain = (entity.entity_id or "").partition(".")[0]

    @api.depends("registry_name", "original_name", "attributes")
    def _compute_name(self):
        for entity in self:
            entity.name = entity_name(entity.registry_name, entity.original_name, entity.attributes)

    @api.depends("registry_icon", "attributes")
    def _compute_icon(self):
        for entity in self:
            entity.icon = entity_icon(entity.registry_icon, entity.attributes)

    @api.depends("attributes")
    def _compute_attributes_text(self):
        # Odoo has no widget that lays out a JSON value for reading.
        for entity in self:
            entity.attributes_text = json.dumps(entity.attributes or {}, indent=2, sort_keys=True, ensure_ascii=False)

    @api.depends("state")
    def _compute_available(self):
        for entity in self:
            entity.available = bool(entity.state) and entity.state != UNAVAILABLE

    @api.depends("own_area_id", "device_id.area_id")
    def _compute_area_id(self):
        for entity in self:
            entity.area_id = entity.own_area_id or entity.device_id.area_id
