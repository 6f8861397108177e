import { Component } from "@odoo/owl";
import { deserializeDateTime, formatDateTime } from "@web/core/l10n/dates";
import { _t } from "@web/core/l10n/translation";

const STATE_BADGES = {
    connected: "text-bg-success",
    connecting: "text-bg-warning",
    disconnected: "text-bg-secondary",
    disabled: "text-bg-secondary",
    auth_failed: "text-bg-danger",
    error: "text-bg-danger",
};

function stateLabel(state) {
    return (
        {
            connected: _t("Connected"),
            connecting: _t("Connecting"),
            disconnected: _t("Disconnected"),
            disabled: _t("Disabled"),
            auth_failed: _t("Authentication failed"),
            error: _t("Error"),
        }[state] || _t("Unknown")
    );
}

function yesNo(value) {
    return value == null ? null : value ? _t("Yes") : _t("No");
}

/** `[label, value]` rows, without the values Home Assistant did not give. */
function rows(pairs) {
    return pairs.filter(([, value]) => value != null && value !== "");
}

/**
 * What `hardware_info` says, in a few rows: a Supervisor lists devices and
 * drives, Home Assistant Core describes its host.
 */
export function hardwareSummary(info) {
    if (info.source === "supervisor") {
        return rows([
            [_t("Source"), _t("Supervisor")],
            [_t("Devices"), info.devices?.length],
            [_t("Drives"), info.drives?.length],
        ]);
    }
    const host = info.host || {};
    return rows([
        [_t("Source"), _t("Home Assistant Core")],
        [_t("System"), [host.os_name, host.os_version].filter(Boolean).join(" ")],
        [_t("Architecture"), host.arch],
        [_t("Python"), host.python_version],
        [_t("Installation"), host.installation_type],
    ]);
}

export function networkSummary(info) {
    if (info.source === "supervisor") {
        const interfaces = info.interfaces || [];
        return rows([
            [_t("Source"), _t("Supervisor")],
            [_t("Interfaces"), interfaces.map((item) => item.interface).join(", ")],
            [_t("Addresses"), interfaces.flatMap((item) => item.ipv4?.address || []).join(", ")],
            [_t("Internet"), yesNo(info.host_internet)],
        ]);
    }
    return rows([
        [_t("Source"), _t("Home Assistant Core")],
        [_t("Location"), info.location_name],
        [_t("Installation"), info.installation_type],
        [_t("Docker"), yesNo(info.docker)],
    ]);
}

class HaHeaderDetail extends Component {
    static template = "odoo_ha_addon.InstanceHeader.Detail";
    static props = { className: String, title: String, detail: Object, onRetry: Function, slots: Object };
}

/**
 * The instance's identity and health: connection state, version, addresses,
 * host and network, and Reconnect for managers.
 */
export class HaInstanceHeader extends Component {
    static template = "odoo_ha_addon.InstanceHeader";
    static components = { HaHeaderDetail };
    static props = {
        instance: Object,
        details: Object,
        isManager: Boolean,
        reconnecting: Boolean,
        onReconnect: Function,
        onRetryDetails: Function,
    };

    get badgeClass() {
        return STATE_BADGES[this.props.instance.connection_state] || "text-bg-secondary";
    }

    get stateLabel() {
        return stateLabel(this.props.instance.connection_state);
    }

    get since() {
        const since = this.props.instance.since;
        return since ? formatDateTime(deserializeDateTime(since)) : "";
    }

    get urls() {
        const urls = this.props.details.urls.data || {};
        return [
            [_t("Internal"), urls.internal],
            [_t("External"), urls.external],
            [_t("Cloud"), urls.cloud],
        ];
    }

    get hardwareRows() {
        return hardwareSummary(this.props.details.hardware.data);
    }

    get networkRows() {
        return networkSummary(this.props.details.network.data);
    }
}
