/**
 * Tours of the Home Assistant dashboard, run by tests/test_tours.py against
 * the real Home Assistant test peers: instance "Alpha" (areas living_room,
 * kitchen, bedroom) and instance "Beta" (office, garage, garden).
 */
import { registry } from "@web/core/registry";

const tours = registry.category("web_tour.tours");

const area = (id) => `.o_ha_area[data-area-id="${id}"]`;
const entity = (id) => `.o_ha_entity[data-entity-id="${id}"]`;
const BED_LIGHT = entity("light.bed_light");
const OFFICE_LIGHT = entity("light.office_rgbw_lights");
const PERGOLA = entity("cover.pergola_roof");

/** Alpha is on screen with its areas' entities, not only the area titles. */
const alphaShown = [
    {
        content: "The dashboard shows Alpha, the user's first instance",
        trigger: ".o_ha_current_pane .o_ha_instance_title:contains(Alpha)",
    },
    {
        content: "with its areas and their entities",
        trigger: `.o_ha_current_pane ${area("living_room")} .o_ha_entity`,
    },
];

tours.add("odoo_ha_addon_dashboard_switch", {
    steps: () => [
        ...alphaShown,
        {
            content: "Open the instance switcher",
            trigger: ".o_ha_instance_switcher button",
            run: "click",
        },
        {
            content: "Switch to Beta",
            trigger: ".o_ha_instance_item:contains(Beta)",
            run: "click",
        },
        {
            content: "Beta's areas replace Alpha's",
            trigger: `.o_ha_current_pane:not(:has(${area("living_room")})) ${area("office")} .o_ha_entity`,
        },
        {
            content: "and the header names Beta",
            trigger: ".o_ha_current_pane .o_ha_instance_title:contains(Beta)",
        },
    ],
});

tours.add("odoo_ha_addon_dashboard_live", {
    steps: () => [
        {
            content: "The bed light is on (the test turned it on in Home Assistant)",
            trigger: `${BED_LIGHT}[data-state=on] .o_ha_toggle:enabled`,
            run: "click",
        },
        {
            content: "The tile shows the light off at once (optimistic)",
            trigger: `${BED_LIGHT}[data-state=off]`,
        },
        {
            content: "and keeps it off once Home Assistant accepted the call (no revert)",
            trigger: `${BED_LIGHT}[data-state=off]:not(.o_ha_busy)`,
        },
        {
            // Nothing on this page asks for it: the test turns the light on
            // in Home Assistant directly, so only the bus can bring it here.
            content: "Home Assistant turns the light back on: the tile follows",
            trigger: `${BED_LIGHT}[data-state=on]:not(.o_ha_busy)`,
            timeout: 30000,
        },
    ],
});

tours.add("odoo_ha_addon_dashboard_refused", {
    steps: () => [
        {
            content: "Close Beta's pergola roof, which Home Assistant can only tilt",
            trigger: `${PERGOLA}[data-state=closed] .o_ha_cover_close:enabled`,
            run: "click",
        },
        {
            content: "Home Assistant's refusal is shown",
            trigger: ".o_notification:contains(Pergola Roof was not changed)",
        },
        {
            content: "and the tile is back to the state Home Assistant has",
            trigger: `${PERGOLA}[data-state=closed]:not(.o_ha_busy)`,
        },
    ],
});

tours.add("odoo_ha_addon_dashboard_compare", {
    steps: () => [
        ...alphaShown,
        {
            content: "Compare with another instance",
            trigger: ".o_ha_compare_toggle:enabled",
            run: "click",
        },
        {
            content: "Beta is shown next to Alpha",
            trigger: `.o_ha_compare_pane ${area("office")} .o_ha_entity`,
        },
        {
            content: "Alpha is still the current instance",
            trigger: `.o_ha_current_pane ${area("living_room")}`,
        },
        {
            content: "Turn off Beta's office light from the compared pane",
            trigger: `.o_ha_compare_pane ${OFFICE_LIGHT}[data-state=on] .o_ha_toggle:enabled`,
            run: "click",
        },
        {
            content: "The call succeeded: the light stays off",
            trigger: `.o_ha_compare_pane ${OFFICE_LIGHT}[data-state=off]:not(.o_ha_busy)`,
        },
        {
            content: "The systray still names Alpha",
            trigger: ".o_ha_instance_switcher:contains(Alpha)",
        },
    ],
});

tours.add("odoo_ha_addon_dashboard_reconnect", {
    steps: () => [
        {
            content: "A manager reconnects the instance",
            trigger: ".o_ha_instance_header .o_ha_restart:enabled",
            run: "click",
        },
        {
            content: "The server accepted the restart",
            trigger: ".o_notification:contains(Reconnecting to Alpha)",
        },
    ],
});

tours.add("odoo_ha_addon_dashboard_no_reconnect", {
    steps: () => [
        {
            content: "The header is loaded",
            trigger: ".o_ha_instance_header .o_ha_connection_badge",
        },
        {
            content: "A Home Assistant user has no Reconnect button",
            trigger: ".o_ha_dashboard:not(:has(.o_ha_restart))",
        },
    ],
});

tours.add("odoo_ha_addon_dashboard_no_instance_user", {
    steps: () => [
        {
            content: "No instance for this user, and no configuration link",
            trigger: ".o_ha_no_instance:not(:has(.o_ha_configure))",
        },
    ],
});

tours.add("odoo_ha_addon_dashboard_no_instance_manager", {
    steps: () => [
        {
            content: "No instance: a manager is offered the configuration",
            trigger: ".o_ha_no_instance .o_ha_configure",
            run: "click",
        },
        {
            content: "which opens the instances",
            trigger: ".o_list_view .o_breadcrumb:contains(Home Assistant instances)",
        },
    ],
});
