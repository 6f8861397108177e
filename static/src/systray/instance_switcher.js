import { Component, onWillUnmount, status, useState } from "@odoo/owl";
import { Dropdown } from "@web/core/dropdown/dropdown";
import { DropdownItem } from "@web/core/dropdown/dropdown_item";
import { _t } from "@web/core/l10n/translation";
import { registry } from "@web/core/registry";
import { useService } from "@web/core/utils/hooks";

/** Bootstrap text colour of the state dot, per `connection_state`. */
const STATE_CLASSES = {
    connected: "text-success",
    connecting: "text-warning",
    disconnected: "text-muted",
    disabled: "text-muted",
    auth_failed: "text-danger",
    error: "text-danger",
};

function stateLabel(state) {
    switch (state) {
        case "connected":
            return _t("Connected");
        case "connecting":
            return _t("Connecting");
        case "disconnected":
            return _t("Disconnected");
        case "disabled":
            return _t("Disabled");
        case "auth_failed":
            return _t("Authentication failed");
        case "error":
            return _t("Error");
        default:
            return _t("Unknown");
    }
}

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
            onWillUnmount(this.haData.onGlobalState(event, refresh));
        }
        // Not awaited in onWillStart: the navbar must not wait for the
        // group check and the instance list.
        this.haData.ready.then((isHaUser) => {
            if (isHaUser && status(this) !== "destroyed") {
                this.state.visible = true;
                return this.load();
            }
        });
    }

    async load() {
        let data;
        try {
            data = await this.haData.getInstances();
        } catch {
            // The route already failed for the page's other users of it;
            // keep showing what we had rather than a second error.
            return;
        }
        if (status(this) === "destroyed") {
            return;
        }
        this.state.instances = data.instances.map((instance) => ({ ...instance }));
        this.state.currentId = this.haData.currentInstanceId ?? data.current_instance_id;
    }

    get current() {
        return this.state.instances.find((instance) => instance.id === this.state.currentId);
    }

    get currentName() {
        return (
            this.current?.name ||
            this.haData.currentInstanceName ||
            _t("No Home Assistant instance")
        );
    }

    get toggleTitle() {
        const current = this.current;
        if (!current) {
            return this.currentName;
        }
        const parts = [current.name, stateLabel(current.connection_state)];
        if (current.ha_version) {
            parts.push(_t("Home Assistant %s", current.ha_version));
        }
        return parts.join(" · ");
    }

    stateClass(state) {
        return STATE_CLASSES[state] || "text-muted";
    }

    stateLabel(state) {
        return stateLabel(state);
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
