import { _t } from "@web/core/l10n/translation";

/**
 * What the dashboard does with an entity, by domain: which control its tile
 * shows, which Home Assistant service each action calls, and what the tile
 * shows until Home Assistant confirms the change on the bus.
 *
 * An action is `{ service, serviceData?, state?, attributes? }`: `state` and
 * `attributes` are the optimistic values, shown at once and reverted when
 * the call fails.
 */

const ON_OFF_DOMAINS = ["light", "switch", "input_boolean", "fan"];
const RUN_SERVICES = { scene: "turn_on", script: "turn_on", button: "press" };
/** Home Assistant's own default step for a target temperature in Celsius. */
const DEFAULT_TEMPERATURE_STEP = 0.5;

const ICONS = {
    light: "fa-lightbulb-o",
    switch: "fa-plug",
    input_boolean: "fa-check-square-o",
    fan: "fa-refresh",
    cover: "fa-columns",
    lock: "fa-lock",
    climate: "fa-thermometer-half",
    scene: "fa-magic",
    script: "fa-code",
    button: "fa-hand-pointer-o",
    sensor: "fa-tachometer",
    binary_sensor: "fa-dot-circle-o",
};

/**
 * @param {{ domain: string }} entity
 * @returns {"toggle" | "cover" | "lock" | "climate" | "run" | "readonly"}
 */
export function controlKind(entity) {
    if (ON_OFF_DOMAINS.includes(entity.domain)) {
        return "toggle";
    }
    if (entity.domain === "cover") {
        return coverActionNames(entity).length ? "cover" : "readonly";
    }
    if (["lock", "climate"].includes(entity.domain)) {
        return entity.domain;
    }
    return entity.domain in RUN_SERVICES ? "run" : "readonly";
}

export function entityIcon(entity) {
    return ICONS[entity.domain] || "fa-cube";
}

/**
 * Home Assistant cannot reach the device. An "unknown" state is no such
 * case: a scene or a button that never ran has one and still works.
 */
export function isUnavailable(entity) {
    return entity.state === "unavailable";
}

/** Explicit on/off rather than `toggle`: the call does what the user saw. */
export function toggleAction(entity) {
    const isOn = entity.state === "on";
    return { service: isOn ? "turn_off" : "turn_on", state: isOn ? "off" : "on" };
}

export function brightnessPercent(entity) {
    const brightness = entity.attributes?.brightness;
    return entity.state === "on" && typeof brightness === "number" ? Math.round(brightness / 2.55) : 0;
}

/** Whether the light can be dimmed: Home Assistant lists its colour modes. */
export function isDimmable(entity) {
    const modes = entity.attributes?.supported_color_modes || [];
    return modes.some((mode) => mode !== "onoff");
}

export function brightnessAction(percent) {
    if (percent <= 0) {
        return { service: "turn_off", state: "off" };
    }
    return {
        service: "turn_on",
        serviceData: { brightness_pct: percent },
        state: "on",
        attributes: { brightness: Math.round(percent * 2.55) },
    };
}

export const COVER_ACTIONS = {
    open: { service: "open_cover", state: "opening" },
    // Where the cover stops is only known from Home Assistant.
    stop: { service: "stop_cover" },
    close: { service: "close_cover", state: "closing" },
};
/** Home Assistant's `CoverEntityFeature` bits of the actions above. */
const COVER_FEATURES = { open: 1, close: 2, stop: 8 };

/** The cover actions the entity supports (a garage door may not stop, a roof may only tilt). */
export function coverActionNames(entity) {
    const features = entity.attributes?.supported_features ?? 0;
    return Object.keys(COVER_ACTIONS).filter((name) => features & COVER_FEATURES[name]);
}

export const LOCK_ACTIONS = {
    lock: { service: "lock", state: "locking" },
    unlock: { service: "unlock", state: "unlocking" },
};

/** A thermostat with a single target (not a low/high range) can be stepped. */
export function hasTargetTemperature(entity) {
    return typeof entity.attributes?.temperature === "number";
}

/**
 * @param {object} entity a climate entity with a single target temperature
 * @param {1 | -1} direction
 */
export function temperatureAction(entity, direction) {
    const { temperature, target_temp_step: step, min_temp: min, max_temp: max } = entity.attributes;
    let target = Math.round((temperature + direction * (step || DEFAULT_TEMPERATURE_STEP)) * 10) / 10;
    if (typeof min === "number") {
        target = Math.max(min, target);
    }
    if (typeof max === "number") {
        target = Math.min(max, target);
    }
    return {
        service: "set_temperature",
        serviceData: { temperature: target },
        attributes: { temperature: target },
    };
}

export function runAction(entity) {
    return { service: RUN_SERVICES[entity.domain] };
}

/** The state as a person reads it: value and unit, or a word. */
export function displayState(entity) {
    const { state, attributes = {} } = entity;
    if (state === "unavailable") {
        return _t("Unavailable");
    }
    if (state === "unknown" || state == null) {
        return _t("Unknown");
    }
    if (entity.domain === "binary_sensor") {
        return state === "on" ? _t("Detected") : _t("Clear");
    }
    if (entity.domain === "script") {
        return state === "on" ? _t("Running") : _t("Idle");
    }
    if (entity.domain === "scene" || entity.domain === "button") {
        // Their state is the time of the last run, which says little here.
        return "";
    }
    if (entity.domain === "climate") {
        const current = attributes.current_temperature;
        return current == null ? state : `${current}° · ${state.replaceAll("_", " ")}`;
    }
    const unit = attributes.unit_of_measurement;
    if (unit) {
        return `${state} ${unit}`;
    }
    // Home Assistant's states are identifiers ("on", "heat_cool"): make them words.
    const words = String(state).replaceAll("_", " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
}

/** Entities without a name of their own still need a label. */
export function entityName(entity) {
    return entity.name || entity.attributes?.friendly_name || entity.entity_id;
}
