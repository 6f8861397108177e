import { Component } from "@odoo/owl";
import { HaEntityTile } from "./entity_tile";

/** An area and its entities; the panel loads them and keeps them live. */
export class HaAreaCard extends Component {
    static template = "odoo_ha_addon.AreaCard";
    static components = { HaEntityTile };
    static props = {
        area: Object,
        entities: Array,
        onAction: Function,
        onRetry: Function,
    };
}
