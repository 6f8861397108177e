import { Component, onWillDestroy, status, useState } from "@odoo/owl";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

/** Dot colour (Bootstrap text class) and label of each `connection_state`. */
const STATES = {
    connected: { className: "text-success", label: _t("Connected") },
    connecting: { className: "text-warning", label: _t("Connecting") },
    disconnected: { className: "text-muted", label: _t("Disconnected") },
    disabled: { className: "text-muted", label: _t("Disabled") },
    auth_failed: { className: "text-danger", label: _t("Authentication failed") },
    error: { className: "text-danger", label: _t("Error") },
};
const UNKNOWN_STATE = { className: "text-muted", label: _t("Unknown") };

/**
 * Systray menu showing the current Home Assistant instance and switching to
 * another one. It renders nothing until the user is known to be an HA user.
 */
export class HAInstanceSwitcher extends Component {
    static template = "odoo_ha_addon.HAInstanceSwitcher";
    static components = { Dropdown, DropdownItem };
    static props = {};

    setup() {
        this.haData = useService("ha_data");
        this.state = useState({ visible: false, instances: [], currentId: null });
        const refresh = () => this.load();
        for (const event of ["instance_switched", "connection_status", "session_fallback"]) {
            onWillDestroy(this.haData.onGlobalState(event, refresh));
        }
        // Not awaited in onWillStart: the navbar must not wait for the
        // group check and the instance list.
        this.haData.ready.then(async (isHaUser) => {
            if (isHaUser) {
                await this.load();
                this.state.visible = status(this) !== "destroyed";
            }
        });
    }

    async load() {
        let data;
        try {
            data = await this.haData.getInstances();
        } catch {
            // Keep the last list shown: a navbar item must not raise error
            // dialogs, and the next event or opening of the menu retries.
            return;
        }
        if (status(this) === "destroyed") {
            return;
        }
        // Copies: the service patches its cached objects in place, out of
        // OWL's sight; its events tell when to read them again.
        this.state.instances = data.instances.map((instance) => ({ ...instance }));
        this.state.currentId = this.haData.currentInstanceId ?? data.current_instance_id;
    }

    get current() {
        return this.state.instances.find((instance) => instance.id === this.state.currentId);
    }

    get currentName() {
        return this.current?.name || this.haData.currentInstanceName || _t("No Home Assistant instance");
    }

    get toggleTitle() {
        const current = this.current;
        if (!current) {
            return this.currentName;
        }
        const parts = [current.name, this.stateLabel(current.connection_state)];
        if (current.ha_version) {
            parts.push(_t("Home Assistant %s", current.ha_version));
        }
        return parts.join(" · ");
    }

    stateClass(state) {
        return (STATES[state] || UNKNOWN_STATE).className;
    }

    stateLabel(state) {
        return (STATES[state] || UNKNOWN_STATE).label;
    }

    async onSelect(instance) {
        if (instance.id === this.state.currentId) {
            return;
        }
        try {
            await this.haData.switchInstance(instance.id);
        } catch {
            // The service told the user; the menu stays as it was.
        }
    }
}

registry
    .category("systray")
    .add("odoo_ha_addon.instance_switcher", { Component: HAInstanceSwitcher }, { sequence: 40 });
