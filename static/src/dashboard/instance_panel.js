import { Component, onMounted, status, useState } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import { useService } from "@web/core/utils/hooks";
import { useDebounced } from "@web/core/utils/timing";
import { HaAreaCard } from "./area_card";
import { entityName } from "./entity_controls";
import { useHaEvent } from "./hooks";
import { HaInstanceHeader } from "./instance_header";

/** Live reads of the header, by detail name. */
const DETAIL_ROUTES = { urls: "ha_urls", hardware: "hardware_info", network: "network_info" };
/** A full sync announces every registry at once: one reload for the burst. */
const REGISTRY_RELOAD_DELAY = 250;

/**
 * One Home Assistant instance: header, areas and their entities, kept live
 * from the bus and controllable.
 *
 * Without `instanceId` the panel shows the current instance: it asks the
 * server which one that is (`websocket_status` resolves it from the
 * session) and from then on names it explicitly in every read, so that its
 * reads stay on that instance even if another tab switches meanwhile (the
 * dashboard then mounts a new panel). With `instanceId` (compare view) the
 * session is never involved.
 */
export class HaInstancePanel extends Component {
    static template = "odoo_ha_addon.InstancePanel";
    static components = { HaInstanceHeader, HaAreaCard };
    static props = {
        instanceId: { type: Number, optional: true },
        isManager: Boolean,
        compact: { type: Boolean, optional: true },
        onResolved: { type: Function, optional: true },
    };

    setup() {
        this.haData = useService("ha_data");
        this.notification = useService("notification");
        this.action = useService("action");
        this.instanceId = this.props.instanceId ?? null;
        this.state = useState({
            status: "loading", // loading | ready | error | no_instance
            error: "",
            instance: null,
            details: {},
            areasStatus: "loading", // loading | ready | error
            areasError: "",
            areas: [],
            entities: {},
            reconnecting: false,
        });
        this.reloadAreas = useDebounced(() => this.loadAreas(), REGISTRY_RELOAD_DELAY);
        useHaEvent("states_changed", (payload) => this.onStatesChanged(payload));
        useHaEvent("connection_status", (payload) => this.onConnectionStatus(payload));
        useHaEvent("registry_updated", ({ instance_id }) => {
            if (instance_id === this.instanceId) {
                this.reloadAreas();
            }
        });
        // After mounting: load() reports the resolved instance to the
        // dashboard, and a parent re-rendered before this panel is mounted
        // would throw it away and create a second one, loading twice.
        onMounted(() => this.load());
    }

    get alive() {
        return !["destroyed", "cancelled"].includes(status(this));
    }

    get scope() {
        return this.instanceId === null ? {} : { ha_instance_id: this.instanceId };
    }

    entitiesOf(area) {
        return area.entityIds.map((id) => this.state.entities[id]).filter(Boolean);
    }

    // -- loading ---------------------------------------------------------------

    async load() {
        Object.assign(this.state, { status: "loading", error: "" });
        let instance;
        try {
            // Forced: the connection state must be today's, not the cache's.
            instance = await this.haData.get("websocket_status", this.scope, { force: true });
        } catch (error) {
            if (this.alive) {
                this.state.status = error.code === "no_instance" ? "no_instance" : "error";
                this.state.error = error.message;
            }
            return;
        }
        if (!this.alive) {
            return;
        }
        this.instanceId = instance.instance_id;
        Object.assign(this.state, { status: "ready", instance });
        this.props.onResolved?.(instance);
        this.loadDetails();
        await this.loadAreas();
    }

    loadDetails({ force = false } = {}) {
        for (const [name, route] of Object.entries(DETAIL_ROUTES)) {
            this.state.details[name] = { status: "loading", data: null, error: "" };
            this.haData.get(route, this.scope, { force }).then(
                (data) => Object.assign(this.state.details[name], { status: "ready", data }),
                (error) => Object.assign(this.state.details[name], { status: "error", error: error.message })
            );
        }
    }

    async loadAreas() {
        let areas;
        try {
            ({ areas } = await this.haData.get("areas", this.scope));
        } catch (error) {
            Object.assign(this.state, { areasStatus: "error", areasError: error.message });
            return;
        }
        // Known areas keep their entities on screen while they are read again.
        const known = new Map(this.state.areas.map((area) => [area.area_id, area]));
        this.state.areas = areas.map((area) => ({
            ...area,
            status: known.get(area.area_id)?.status ?? "loading",
            error: "",
            entityIds: known.get(area.area_id)?.entityIds ?? [],
        }));
        this.state.areasStatus = "ready";
        await Promise.all(this.state.areas.map((area) => this.loadEntities(area)));
    }

    async loadEntities(area) {
        let data;
        try {
            data = await this.haData.get("entities_by_area", { ...this.scope, area_id: area.area_id });
        } catch (error) {
            Object.assign(area, { status: "error", error: error.message });
            return;
        }
        for (const entity of data.entities) {
            // A copy: optimistic values must never reach the service's cache.
            this.state.entities[entity.entity_id] = { ...entity, busy: false, optimistic: null };
        }
        Object.assign(area, { status: "ready", entityIds: data.entities.map((entity) => entity.entity_id) });
    }

    retryArea(area) {
        area.status = "loading";
        this.loadEntities(area);
    }

    // -- live ------------------------------------------------------------------

    onStatesChanged({ instance_id, states }) {
        if (instance_id !== this.instanceId) {
            return;
        }
        for (const change of states) {
            const entity = this.state.entities[change.entity_id];
            if (entity) {
                // Home Assistant's word replaces any optimistic value.
                Object.assign(entity, {
                    state: change.state,
                    attributes: change.attributes,
                    optimistic: null,
                });
            }
        }
    }

    onConnectionStatus({ instance_id, connection_state, ha_version, message }) {
        const instance = this.state.instance;
        if (instance_id !== this.instanceId || !instance) {
            return;
        }
        Object.assign(instance, {
            connection_state,
            connected: connection_state === "connected",
            ha_version: ha_version || instance.ha_version,
            last_error: message,
        });
        // Back online: what failed while Home Assistant was away can be read now.
        const failed = Object.values(this.state.details).some((detail) => detail.status === "error");
        if (connection_state === "connected" && failed) {
            this.loadDetails();
        }
    }

    // -- actions -----------------------------------------------------------------

    /**
     * Call the action's service on the entity, showing its optimistic state
     * at once. On failure the previous state comes back, unless Home
     * Assistant has reported a newer one meanwhile.
     */
    async control(entity, action) {
        const previous = { state: entity.state, attributes: entity.attributes };
        const token = Symbol("optimistic");
        const isOptimistic = Boolean(action.state || action.attributes);
        if (isOptimistic) {
            entity.state = action.state ?? entity.state;
            entity.attributes = { ...entity.attributes, ...action.attributes };
            entity.optimistic = token;
        }
        entity.busy = true;
        try {
            await this.haData.callService(entity.domain, action.service, action.serviceData || {}, {
                target: { entity_id: entity.entity_id },
                instanceId: this.instanceId,
            });
            if (!isOptimistic) {
                // Nothing on the tile shows that a scene ran or a button was pressed.
                this.notification.add(_t("%(entity)s: done", { entity: entityName(entity) }), {
                    type: "success",
                });
            }
        } catch (error) {
            if (entity.optimistic === token) {
                Object.assign(entity, { ...previous, optimistic: null });
            }
            this.notification.add(error.message, {
                title: _t("%(entity)s was not changed", { entity: entityName(entity) }),
                type: "danger",
            });
        } finally {
            entity.busy = false;
        }
    }

    async reconnect() {
        this.state.reconnecting = true;
        try {
            const data = await this.haData.restartConnection(true, { instanceId: this.instanceId });
            this.state.instance.connection_state = data.connection_state;
            this.notification.add(
                _t("Reconnecting to %(instance)s…", { instance: this.state.instance.instance_name }),
                { type: "info" }
            );
        } catch (error) {
            this.notification.add(error.message, { title: _t("Could not reconnect"), type: "danger" });
        } finally {
            this.state.reconnecting = false;
        }
    }

    openConfiguration() {
        this.action.doAction("odoo_ha_addon.ha_instance_action");
    }
}
