import { Component, onWillStart, useState } from "@odoo/owl";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { useService } from "@web/core/utils/hooks";
import { Layout } from "@web/search/layout";
import { standardActionServiceProps } from "@web/webclient/actions/action_service";
import { useHaEvent } from "./hooks";
import { HaInstancePanel } from "./instance_panel";

export const HA_MANAGER_GROUP = "odoo_ha_addon.group_ha_manager";

/**
 * The Home Assistant dashboard (client action `odoo_ha_addon.dashboard`):
 * the current instance, or two instances side by side in compare mode.
 */
export class HaDashboard extends Component {
    static template = "odoo_ha_addon.Dashboard";
    static components = { Layout, HaInstancePanel };
    static props = { ...standardActionServiceProps };

    setup() {
        this.haData = useService("ha_data");
        this.notification = useService("notification");
        this.state = useState({
            // Bumped on a switch: the current-instance panel is mounted afresh.
            generation: 0,
            currentId: null,
            instances: [],
            compare: false,
            compareId: null,
        });
        useHaEvent("instance_switched", () => {
            this.state.generation++;
            this.loadInstances();
        });
        onWillStart(async () => {
            this.isManager = await user.hasGroup(HA_MANAGER_GROUP);
        });
        this.loadInstances();
    }

    get otherInstances() {
        return this.state.instances.filter((instance) => instance.id !== this.state.currentId);
    }

    async loadInstances() {
        try {
            ({ instances: this.state.instances } = await this.haData.get("instances"));
        } catch {
            // Only the compare picker needs the list; the panel reports the failure.
            this.state.instances = [];
        }
        this.keepCompareValid();
    }

    /** The compared instance is never the current one, and exists. */
    keepCompareValid() {
        const others = this.otherInstances;
        if (!others.some((instance) => instance.id === this.state.compareId)) {
            this.state.compareId = others[0]?.id ?? null;
        }
    }

    onResolved(instance) {
        this.state.currentId = instance.instance_id;
        this.keepCompareValid();
    }

    toggleCompare() {
        this.state.compare = !this.state.compare;
    }

    onCompareChange(ev) {
        this.state.compareId = Number(ev.target.value);
    }
}

registry.category("actions").add("odoo_ha_addon.dashboard", HaDashboard);
