import { EventBus } from "@odoo/owl";

/** The events of the `ha_data` service (see the contract's "Front end"). */
export const GLOBAL_EVENTS = Object.freeze([
    "instance_switched",
    "session_fallback",
    "states_changed",
    "connection_status",
    "registry_updated",
]);

/**
 * Callbacks per event name. Callbacks are called with the payload only, and
 * a callback registered twice for an event is called once.
 */
export class GlobalEvents {
    constructor(names = GLOBAL_EVENTS) {
        this.bus = new EventBus();
        /** @type {Map<string, Map<Function, Function>>} callback -> bus listener, per event */
        this.listeners = new Map(names.map((name) => [name, new Map()]));
    }

    /**
     * @param {string} event
     * @param {(payload: any) => void} callback
     * @returns {() => void} removes the callback
     */
    on(event, callback) {
        const listeners = this._listenersOf(event);
        if (!listeners.has(callback)) {
            const listener = ({ detail }) => callback(detail);
            listeners.set(callback, listener);
            this.bus.addEventListener(event, listener);
        }
        return () => this.off(event, callback);
    }

    off(event, callback) {
        const listeners = this._listenersOf(event);
        const listener = listeners.get(callback);
        if (listener) {
            this.bus.removeEventListener(event, listener);
            listeners.delete(callback);
        }
    }

    /**
     * Every callback is called even if one throws: the event target reports
     * the error and goes on, so one broken component cannot silence the
     * others.
     */
    trigger(event, payload) {
        this._listenersOf(event);
        this.bus.trigger(event, payload);
    }

    _listenersOf(event) {
        const listeners = this.listeners.get(event);
        if (!listeners) {
            // A misspelt event name would otherwise fail silently.
            throw new Error(`Unknown Home Assistant event "${event}"`);
        }
        return listeners;
    }
}
