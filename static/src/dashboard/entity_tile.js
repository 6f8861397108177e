import { Component } from "@odoo/owl";
import { _t } from "@web/core/l10n/translation";
import {
    brightnessAction,
    brightnessPercent,
    controlKind,
    COVER_ACTIONS,
    coverActionNames,
    displayState,
    entityIcon,
    entityName,
    hasTargetTemperature,
    isDimmable,
    isUnavailable,
    LOCK_ACTIONS,
    runAction,
    temperatureAction,
    toggleAction,
} from "./entity_controls";

/**
 * One entity: its live state and the control of its domain. The tile only
 * describes the action; the panel calls Home Assistant and owns the state.
 */
export class HaEntityTile extends Component {
    static template = "odoo_ha_addon.EntityTile";
    static props = {
        entity: Object,
        onAction: Function,
    };

    get entity() {
        return this.props.entity;
    }

    get kind() {
        return controlKind(this.entity);
    }

    get iconClass() {
        return `${entityIcon(this.entity)} ${this.isOn ? "text-warning" : "text-muted"}`;
    }

    get name() {
        return entityName(this.entity);
    }

    get stateText() {
        return displayState(this.entity);
    }

    get isOn() {
        return this.entity.state === "on";
    }

    get disabled() {
        return this.entity.busy || isUnavailable(this.entity);
    }

    get isDimmable() {
        return this.entity.domain === "light" && isDimmable(this.entity);
    }

    get brightness() {
        return brightnessPercent(this.entity);
    }

    get hasTargetTemperature() {
        return hasTargetTemperature(this.entity);
    }

    get coverButtons() {
        const buttons = {
            open: { label: _t("Open"), icon: "fa-chevron-up" },
            stop: { label: _t("Stop"), icon: "fa-stop" },
            close: { label: _t("Close"), icon: "fa-chevron-down" },
        };
        return coverActionNames(this.entity).map((name) => ({ name, ...buttons[name] }));
    }

    get isLocked() {
        return this.entity.state === "locked";
    }

    onToggle(ev) {
        // The checkbox shows the entity's state, not the click.
        ev.preventDefault();
        this.props.onAction(this.entity, toggleAction(this.entity));
    }

    onBrightness(ev) {
        this.props.onAction(this.entity, brightnessAction(Number(ev.target.value)));
    }

    onCover(name) {
        this.props.onAction(this.entity, COVER_ACTIONS[name]);
    }

    onLock(name) {
        this.props.onAction(this.entity, LOCK_ACTIONS[name]);
    }

    onTemperature(direction) {
        this.props.onAction(this.entity, temperatureAction(this.entity, direction));
    }

    onRun() {
        this.props.onAction(this.entity, runAction(this.entity));
    }
}
