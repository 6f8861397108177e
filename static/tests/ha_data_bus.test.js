import { defineBusModels, waitNotifications } from "@bus/../tests/bus_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { advanceTime, Deferred } from "@odoo/hoot-mock";
import {
    authenticate,
    getService,
    makeMockEnv,
    makeMockServer,
    MockServer,
    mockService,
    onRpc,
    patchWithCleanup,
    serverState,
} from "@web/../tests/web_test_helpers";
import { browser } from "@web/core/browser/browser";
import { FALLBACK_RELOAD_DELAY } from "@odoo_ha_addon/services/ha_data_service";

defineBusModels();
describe.current.tags("desktop");

const NAMES = { 1: "Alpha", 2: "Beta" };

/** The routes these tests read, answering for the requested instance; `calls` records the requests. */
function mockHaServer() {
    const server = {
        currentId: 1,
        calls: [],
        /** Answers wait for the Deferred of their route, if any. */
        hold: {},
        count(route) {
            return this.calls.filter((call) => call === route).length;
        },
    };
    const ok = (data) => ({ success: true, data });
    const handlers = {
        instances: () =>
            ok({
                instances: [
                    { id: 1, name: "Alpha", connection_state: "connected", ha_version: "2025.4.4" },
                    { id: 2, name: "Beta", connection_state: "disconnected", ha_version: null },
                ],
                current_instance_id: server.currentId,
            }),
        switch_instance: ({ instance_id: id }) => {
            server.currentId = id;
            return ok({ instance_id: id, instance_name: NAMES[id] });
        },
        areas: ({ ha_instance_id: id = server.currentId }) =>
            ok({ areas: [{ area_id: "kitchen", name: `Kitchen ${id}`, floor_id: null, entity_count: 1 }] }),
        entities_by_area: ({ area_id: areaId, ha_instance_id: id = server.currentId }) =>
            ok({
                area_id: areaId,
                entities: [
                    {
                        entity_id: "light.kitchen",
                        name: `Kitchen light ${id}`,
                        domain: "light",
                        state: "off",
                        attributes: { brightness: 0 },
                        device_id: "d1",
                    },
                ],
            }),
        websocket_status: ({ ha_instance_id: id = server.currentId }) =>
            ok({
                instance_id: id,
                instance_name: NAMES[id],
                connection_state: "connected",
                connected: true,
                ha_version: "2025.4.4",
                since: "2025-01-01 00:00:00",
                last_error: null,
            }),
    };
    onRpc("/odoo_ha_addon/<route>", async (request, { route }) => {
        const { params } = await request.json();
        server.calls.push(route);
        await server.hold[route];
        return handlers[route](params);
    });
    return server;
}

async function startService() {
    const server = mockHaServer();
    await makeMockServer();
    // The bus delivers user notifications to an authenticated user only.
    authenticate("admin", "admin");
    const env = await makeMockEnv();
    const haData = getService("ha_data");
    await haData.ready;
    return { env, haData, server };
}

/** Deliver a bus notification and wait until the bus service has handled it. */
async function busSend(env, type, payload) {
    const received = waitNotifications([env, type, payload]);
    const [partner] = MockServer.env["res.partner"].read(serverState.partnerId);
    MockServer.env["bus.bus"]._sendone(partner, type, payload);
    await received;
}

function stepEvents(haData, ...events) {
    for (const event of events) {
        haData.onGlobalState(event, (payload) => expect.step([event, payload]));
    }
}

test("a switch in another tab moves this one, once", async () => {
    const { env, haData, server } = await startService();
    stepEvents(haData, "instance_switched");
    await haData.getAreas();
    await busSend(env, "ha_instance_switched", { instance_id: 2, instance_name: "Beta" });
    expect.verifySteps([["instance_switched", { instanceId: 2, instanceName: "Beta" }]]);
    expect(haData.currentInstanceId).toBe(2);
    expect(haData.currentInstanceName).toBe("Beta");
    expect(haData.cache.size).toBe(0);
    // A repeated notification changes nothing and reloads nothing.
    await busSend(env, "ha_instance_switched", { instance_id: 2, instance_name: "Beta" });
    expect.verifySteps([]);
    expect(server.calls).toEqual(["instances", "areas"]);
});

test("the echo of this tab's own switch is ignored", async () => {
    const { env, haData } = await startService();
    stepEvents(haData, "instance_switched");
    await haData.switchInstance(2);
    await busSend(env, "ha_instance_switched", { instance_id: 2, instance_name: "Beta" });
    expect.verifySteps([["instance_switched", { instanceId: 2, instanceName: "Beta" }]]);
});

test("the echo arriving before the switch's answer is ignored too", async () => {
    const { env, haData, server } = await startService();
    stepEvents(haData, "instance_switched");
    server.hold.switch_instance = new Deferred();
    const switching = haData.switchInstance(2);
    await busSend(env, "ha_instance_switched", { instance_id: 2, instance_name: "Beta" });
    expect.verifySteps([]);
    expect(haData.currentInstanceId).toBe(1);
    server.hold.switch_instance.resolve();
    await switching;
    expect.verifySteps([["instance_switched", { instanceId: 2, instanceName: "Beta" }]]);
});

test("a session fallback warns, moves to the new instance and reloads", async () => {
    mockService("notification", {
        add(message, { type }) {
            expect.step([type, message]);
        },
    });
    patchWithCleanup(browser.location, { reload: () => expect.step("reload") });
    const { env, haData } = await startService();
    stepEvents(haData, "session_fallback");
    await haData.getAreas();
    const payload = { from_instance_id: 1, instance_id: 2, instance_name: "Beta", reason: "archived" };
    await busSend(env, "ha_session_fallback", payload);
    expect.verifySteps([
        ["warning", "The Home Assistant instance you were using is no longer available. You now use Beta."],
        ["session_fallback", payload],
    ]);
    expect(haData.currentInstanceId).toBe(2);
    expect(haData.cache.size).toBe(0);
    await advanceTime(FALLBACK_RELOAD_DELAY);
    expect.verifySteps(["reload"]);
});

test("a session fallback with no instance left says so", async () => {
    mockService("notification", {
        add(message, { type }) {
            expect.step([type, message]);
        },
    });
    patchWithCleanup(browser.location, { reload: () => expect.step("reload") });
    const { env, haData } = await startService();
    const payload = { from_instance_id: 1, instance_id: null, instance_name: null, reason: "deleted" };
    await busSend(env, "ha_session_fallback", payload);
    expect.verifySteps([
        [
            "warning",
            "The Home Assistant instance you were using is no longer available, and no other instance is left for you.",
        ],
    ]);
    expect(haData.currentInstanceId).toBe(null);
    await advanceTime(FALLBACK_RELOAD_DELAY);
    expect.verifySteps(["reload"]);
});

test("state changes patch the cached entities in place, without a request", async () => {
    const { env, haData, server } = await startService();
    stepEvents(haData, "states_changed");
    const mine = await haData.getEntitiesByArea("kitchen");
    const other = await haData.getEntitiesByArea("kitchen", { ha_instance_id: 2 });
    const change = {
        entity_id: "light.kitchen",
        state: "on",
        attributes: { brightness: 200 },
        last_changed: "2025-05-01T10:00:00+00:00",
        last_updated: "2025-05-01T10:00:01+00:00",
    };
    const payload = { instance_id: 1, states: [change] };
    await busSend(env, "ha_states_changed", payload);
    expect.verifySteps([["states_changed", payload]]);
    expect(mine.entities[0]).toEqual({
        name: "Kitchen light 1",
        domain: "light",
        device_id: "d1",
        ...change,
    });
    expect(other.entities[0].state).toBe("off");
    expect(await haData.getEntitiesByArea("kitchen")).toBe(mine);
    expect(server.count("entities_by_area")).toBe(2);
});

test("a state change during a read is applied to its answer", async () => {
    const { env, haData, server } = await startService();
    server.hold.entities_by_area = new Deferred();
    const reading = haData.getEntitiesByArea("kitchen");
    await busSend(env, "ha_states_changed", {
        instance_id: 1,
        states: [{ entity_id: "light.kitchen", state: "on" }],
    });
    server.hold.entities_by_area.resolve();
    const answer = await reading;
    expect(answer.entities[0].state).toBe("on");
    expect(await haData.getEntitiesByArea("kitchen")).toBe(answer);
    expect(server.count("entities_by_area")).toBe(1);
});

test("connection status updates cached instances and status", async () => {
    const { env, haData, server } = await startService();
    stepEvents(haData, "connection_status");
    const instances = await haData.getInstances();
    const status = await haData.get("websocket_status");
    const payload = {
        instance_id: 1,
        connection_state: "auth_failed",
        ha_version: "2025.4.4",
        message: "Token refused",
    };
    await busSend(env, "ha_connection_status", payload);
    expect.verifySteps([["connection_status", payload]]);
    expect(instances.instances[0].connection_state).toBe("auth_failed");
    expect(instances.instances[1].connection_state).toBe("disconnected");
    expect(status).toEqual({
        instance_id: 1,
        instance_name: "Alpha",
        connection_state: "auth_failed",
        connected: false,
        ha_version: "2025.4.4",
        since: "2025-01-01 00:00:00",
        last_error: "Token refused",
    });
    expect(await haData.getInstances()).toBe(instances);
    expect(server.calls).toEqual(["instances", "websocket_status"]);
});

test("a registry update drops the instance's mirrored entries", async () => {
    const { env, haData, server } = await startService();
    stepEvents(haData, "registry_updated");
    await haData.getAreas();
    await haData.getEntitiesByArea("kitchen");
    await haData.getAreas({ ha_instance_id: 2 });
    await haData.get("websocket_status");
    const payload = { instance_id: 1, registry: "entity" };
    await busSend(env, "ha_registry_updated", payload);
    expect.verifySteps([["registry_updated", payload]]);
    await haData.getAreas();
    await haData.getEntitiesByArea("kitchen");
    await haData.getAreas({ ha_instance_id: 2 });
    await haData.get("websocket_status");
    expect(server.count("areas")).toBe(3);
    expect(server.count("entities_by_area")).toBe(2);
    expect(server.count("websocket_status")).toBe(1);
});
