import { onWillDestroy } from "@odoo/owl";
import { useService } from "@web/core/utils/hooks";

/**
 * Listen to a global event of the `ha_data` service for the component's
 * whole life. Subscribed at setup, so nothing is missed while the component
 * loads; removed on destroy, which (unlike unmount) also happens to a
 * component that never got mounted.
 *
 * @param {string} event
 * @param {(payload: any) => void} callback
 */
export function useHaEvent(event, callback) {
    const haData = useService("ha_data");
    haData.onGlobalState(event, callback);
    onWillDestroy(() => haData.offGlobalState(event, callback));
}
