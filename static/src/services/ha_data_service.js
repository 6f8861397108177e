import { browser } from "@web/core/browser/browser";
import { _t } from "@web/core/l10n/translation";
import { rpc } from "@web/core/network/rpc";
import { registry } from "@web/core/registry";
import { user } from "@web/core/user";
import { TTLCache, stableKey } from "./ha_cache";
import { GlobalEvents } from "./ha_events";

const HA_USER_GROUP = "odoo_ha_addon.group_ha_user";
const ROUTE_PREFIX = "/odoo_ha_addon/";

/**
 * How long (ms) a read of each route stays cached. A route missing here is
 * never cached: the write routes (`call_service`, `call_services`,
 * `switch_instance`, `websocket_restart`) must not be, and neither should a
 * route added later before someone decides how fresh it has to be.
 */
export const ROUTE_TTL = Object.freeze({
    instances: 30_000,
    current_instance: 30_000,
    check_access: 30_000,
    // The bus keeps these fresh (states patched, registry changes dropped).
    areas: 60_000,
    entities_by_area: 60_000,
    hardware_info: 300_000,
    network_info: 300_000,
    ha_urls: 300_000,
    websocket_status: 5_000,
});
export const CACHE_MAX_SIZE = 200;
/** Time left to read the fallback warning before the page reloads. */
export const FALLBACK_RELOAD_DELAY = 3000;

/** `instances` lists every instance of the user: it belongs to no instance. */
const USER_SCOPE = "user";
/** Every registry kind changes what these routes answer (names, floors, entity counts). */
const REGISTRY_ROUTES = ["areas", "entities_by_area"];
const STATE_FIELDS = ["state", "attributes", "last_changed", "last_updated"];

/** A route answered `success: false`; `code` is its `error_code`. */
export class HADataError extends Error {
    constructor(message, code, route) {
        super(message);
        this.name = "HADataError";
        this.code = code;
        this.route = route;
    }
}

/**
 * @param {{ entities?: object[] }} data an `entities_by_area` answer
 * @param {Map<string, object>} statesById
 */
function patchEntities(data, statesById) {
    for (const entity of data.entities || []) {
        const state = statesById.get(entity.entity_id);
        if (state) {
            for (const field of STATE_FIELDS) {
                if (field in state) {
                    entity[field] = state[field];
                }
            }
        }
    }
}

function withInstance(params, instanceId) {
    return instanceId == null ? params : { ...params, ha_instance_id: instanceId };
}

export class HAData {
    /**
     * @param {{ busService: any, notification: any }} services
     */
    constructor({ busService, notification }) {
        this.busService = busService;
        this.notification = notification;
        this.cache = new TTLCache({ maxSize: CACHE_MAX_SIZE });
        /**
         * Reads on their way, by cache key. `patches` collects the state
         * changes received meanwhile: the answer may predate them.
         *
         * @type {Map<string, { scope: any, route: string, promise: Promise<any>, patches: Map<string, object>[] }>}
         */
        this.inflight = new Map();
        /** Instances this tab is switching to: the bus echo of such a switch is ours. */
        this.switching = new Set();
        this.events = new GlobalEvents();
        /** For debugging: `hits` were answered without a request, `misses` needed one. */
        this.stats = { hits: 0, misses: 0, requests: 0 };
        this.currentInstanceId = null;
        this.currentInstanceName = null;
        this.isHaUser = false;

        // Subscribing is local: only HA users are sent these notifications.
        const handlers = {
            ha_instance_switched: (payload) => this._onInstanceSwitched(payload),
            ha_session_fallback: (payload) => this._onSessionFallback(payload),
            ha_states_changed: (payload) => this._onStatesChanged(payload),
            ha_connection_status: (payload) => this._onConnectionStatus(payload),
            ha_registry_updated: (payload) => this._onRegistryUpdated(payload),
        };
        for (const [type, handler] of Object.entries(handlers)) {
            busService.subscribe(type, handler);
        }
        /** Resolves to whether the user is an HA user, once the current instance is known. */
        this.ready = this._init();
    }

    async _init() {
        try {
            this.isHaUser = await user.hasGroup(HA_USER_GROUP);
        } catch {
            // Without an answer the service stays idle; reads still reach
            // the server, which decides.
            return false;
        }
        if (!this.isHaUser) {
            return false;
        }
        this.busService.start();
        try {
            const { instances, current_instance_id: id } = await this.get("instances");
            this._setCurrent(id, instances.find((instance) => instance.id === id)?.name);
        } catch {
            // Reads still work (the server resolves the instance); only
            // their cache entries are not tied to an instance id.
        }
        return true;
    }

    // -- reads ---------------------------------------------------------------

    /**
     * The `data` of `/odoo_ha_addon/<route>`, from the cache when fresh.
     *
     * @param {string} route
     * @param {object} [params]
     * @param {{ force?: boolean }} [options] `force` skips the cache and
     *  stores the new answer
     * @returns {Promise<any>} rejects with an {@link HADataError}
     */
    async get(route, params = {}, { force = false } = {}) {
        const ttl = ROUTE_TTL[route];
        if (route !== "instances") {
            // Cache keys need the current instance, which `_init` reads
            // through `instances`.
            await this.ready;
        }
        if (!ttl) {
            return this._request(route, params);
        }
        const scope = route === "instances" ? USER_SCOPE : (params.ha_instance_id ?? this.currentInstanceId);
        // The instance is in the scope: an explicit id naming the current
        // instance shares the entry of the implicit read.
        const key = `${scope}|${route}|${stableKey({ ...params, ha_instance_id: undefined })}`;
        if (!force) {
            const entry = this.cache.get(key);
            if (entry) {
                this.stats.hits++;
                return entry.data;
            }
            const pending = this.inflight.get(key);
            if (pending) {
                this.stats.hits++;
                return pending.promise;
            }
        }
        this.stats.misses++;
        return this._fetch(key, scope, route, params, ttl);
    }

    _fetch(key, scope, route, params, ttl) {
        const pending = { scope, route, patches: [] };
        const isCurrent = () => this.inflight.get(key) === pending;
        pending.promise = this._request(route, params).then(
            (data) => {
                for (const statesById of pending.patches) {
                    patchEntities(data, statesById);
                }
                // A newer read (force) or an invalidation replaced this one:
                // its answer is still given to its callers, not cached.
                if (isCurrent()) {
                    this.inflight.delete(key);
                    this.cache.set(key, { scope, route, data }, ttl);
                }
                return data;
            },
            (error) => {
                if (isCurrent()) {
                    this.inflight.delete(key);
                }
                throw error;
            }
        );
        this.inflight.set(key, pending);
        return pending.promise;
    }

    async _request(route, params) {
        this.stats.requests++;
        const envelope = await rpc(ROUTE_PREFIX + route, params);
        if (!envelope?.success) {
            throw new HADataError(
                envelope?.error || _t("Unexpected answer from the server."),
                envelope?.error_code || "ha_error",
                route
            );
        }
        return envelope.data;
    }

    clearCache() {
        this.cache.clear();
        // Answers on their way belong to the old state: not cached either.
        this.inflight.clear();
    }

    _dropEntries(scope, routes) {
        const matches = (entry) => entry.scope === scope && routes.includes(entry.route);
        for (const [key] of this.cache.filter(matches)) {
            this.cache.delete(key);
        }
        for (const [key, pending] of this.inflight) {
            if (matches(pending)) {
                this.inflight.delete(key);
            }
        }
    }

    // -- helpers ---------------------------------------------------------------

    getInstances() {
        return this.get("instances");
    }

    getCurrentInstance() {
        return this.get("current_instance");
    }

    getAreas(params = {}) {
        return this.get("areas", params);
    }

    getEntitiesByArea(areaId, params = {}) {
        return this.get("entities_by_area", { ...params, area_id: areaId });
    }

    callService(domain, service, serviceData = {}, { target, returnResponse, instanceId } = {}) {
        const params = { domain, service, service_data: serviceData };
        if (target) {
            params.target = target;
        }
        if (returnResponse) {
            params.return_response = true;
        }
        return this.get("call_service", withInstance(params, instanceId));
    }

    callServices(calls, { instanceId } = {}) {
        return this.get("call_services", withInstance({ calls }, instanceId));
    }

    async restartConnection(force = false, { instanceId } = {}) {
        const data = await this.get("websocket_restart", withInstance({ force }, instanceId));
        this._dropEntries(data.instance_id, ["websocket_status"]);
        return data;
    }

    // -- current instance ----------------------------------------------------

    _setCurrent(instanceId, instanceName) {
        this.currentInstanceId = instanceId ?? null;
        this.currentInstanceName = instanceName ?? null;
    }

    _applySwitch(instanceId, instanceName) {
        this._setCurrent(instanceId, instanceName);
        this.clearCache();
        this.triggerGlobalCallbacks("instance_switched", {
            instanceId: this.currentInstanceId,
            instanceName: this.currentInstanceName,
        });
    }

    /**
     * Make `instanceId` the current instance (session and preference). On
     * failure nothing changes, the user is told and the promise rejects.
     *
     * @param {number} instanceId
     * @returns {Promise<{ instance_id: number, instance_name: string }>}
     */
    async switchInstance(instanceId) {
        this.switching.add(instanceId);
        let data;
        try {
            data = await this.get("switch_instance", { instance_id: instanceId });
        } catch (error) {
            this.notification.add(error.message, {
                title: _t("Could not switch Home Assistant instance"),
                type: "danger",
            });
            throw error;
        } finally {
            this.switching.delete(instanceId);
        }
        this._applySwitch(data.instance_id, data.instance_name);
        return data;
    }

    // -- global events -------------------------------------------------------

    /**
     * Call `callback(payload)` on each `event` (see `GLOBAL_EVENTS`);
     * returns a function that unsubscribes, handy for `onWillUnmount`.
     *
     * @param {string} event
     * @param {(payload: any) => void} callback
     * @returns {() => void}
     */
    onGlobalState(event, callback) {
        return this.events.on(event, callback);
    }

    offGlobalState(event, callback) {
        this.events.off(event, callback);
    }

    triggerGlobalCallbacks(event, payload) {
        this.events.trigger(event, payload);
    }

    // -- bus -----------------------------------------------------------------

    _onInstanceSwitched({ instance_id: instanceId, instance_name: instanceName }) {
        // The echo of a switch of this tab, whether it comes before or after
        // the answer, or a repeat: nothing to do.
        if (this.switching.has(instanceId) || instanceId === this.currentInstanceId) {
            return;
        }
        this._applySwitch(instanceId, instanceName);
    }

    _onSessionFallback(payload) {
        const message = payload.instance_id
            ? _t("The Home Assistant instance you were using is no longer available. You now use %(name)s.", {
                  name: payload.instance_name,
              })
            : _t(
                  "The Home Assistant instance you were using is no longer available, and no other instance is left for you."
              );
        this.notification.add(message, { type: "warning", sticky: true });
        this._setCurrent(payload.instance_id, payload.instance_name);
        this.clearCache();
        this.triggerGlobalCallbacks("session_fallback", payload);
        // Every view may hold data of the lost instance: start afresh.
        browser.setTimeout(() => browser.location.reload(), FALLBACK_RELOAD_DELAY);
    }

    _onStatesChanged(payload) {
        const statesById = new Map(payload.states.map((state) => [state.entity_id, state]));
        const matches = (entry) => entry.scope === payload.instance_id && entry.route === "entities_by_area";
        // In place: whoever holds an answer sees the new state, and no
        // request is made for it.
        for (const [, entry] of this.cache.filter(matches)) {
            patchEntities(entry.data, statesById);
        }
        for (const pending of this.inflight.values()) {
            if (matches(pending)) {
                pending.patches.push(statesById);
            }
        }
        this.triggerGlobalCallbacks("states_changed", payload);
    }

    _onConnectionStatus(payload) {
        const { instance_id: instanceId, connection_state: state, ha_version: version } = payload;
        for (const [, entry] of this.cache.filter((entry) => entry.route === "instances")) {
            const instance = entry.data.instances.find((item) => item.id === instanceId);
            if (instance) {
                Object.assign(instance, { connection_state: state, ha_version: version });
            }
        }
        const isStatus = (entry) => entry.scope === instanceId && entry.route === "websocket_status";
        for (const [, entry] of this.cache.filter(isStatus)) {
            Object.assign(entry.data, {
                connection_state: state,
                connected: state === "connected",
                ha_version: version,
                last_error: payload.message,
            });
        }
        this.triggerGlobalCallbacks("connection_status", payload);
    }

    _onRegistryUpdated(payload) {
        this._dropEntries(payload.instance_id, REGISTRY_ROUTES);
        this.triggerGlobalCallbacks("registry_updated", payload);
    }
}

export const haDataService = {
    dependencies: ["bus_service", "notification"],
    start(env, { bus_service: busService, notification }) {
        return new HAData({ busService, notification });
    },
};

registry.category("services").add("ha_data", haDataService);
