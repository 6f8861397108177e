import { defineBusModels } from "@bus/../tests/bus_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { advanceTime, Deferred, freezeTime } from "@odoo/hoot-mock";
import { getService, makeMockEnv, mockService, onRpc } from "@web/../tests/web_test_helpers";
import { CACHE_MAX_SIZE, HADataError, ROUTE_TTL } from "@odoo_ha_addon/services/ha_data_service";

defineBusModels();
describe.current.tags("desktop");

/**
 * A fake of the addon's routes, answering with the contract's envelopes.
 * `calls` lists every request as `{ route, params }`; `hold` maps a
 * route to a Deferred the answer waits for.
 */
function mockHaServer() {
    const server = {
        currentId: 1,
        instances: [
            { id: 1, name: "Alpha", connection_state: "connected", ha_version: "2025.4.4" },
            { id: 2, name: "Beta", connection_state: "disconnected", ha_version: null },
        ],
        calls: [],
        hold: {},
        count(route) {
            return this.calls.filter((call) => call.route === route).length;
        },
    };
    const ok = (data) => ({ success: true, data });
    const handlers = {
        instances: () =>
            ok({
                instances: server.instances.map((i) => ({ ...i, is_current: i.id === server.currentId })),
                current_instance_id: server.currentId,
            }),
        switch_instance: ({ instance_id: id }) => {
            const instance = server.instances.find((i) => i.id === id);
            if (!instance) {
                return {
                    success: false,
                    error: "You do not have access to this Home Assistant instance.",
                    error_code: "access_denied",
                };
            }
            server.currentId = id;
            return ok({ instance_id: id, instance_name: instance.name });
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
                instance_name: "Alpha",
                connection_state: "connected",
                connected: true,
                ha_version: "2025.4.4",
                since: "2025-01-01 00:00:00",
                last_error: null,
            }),
        websocket_restart: ({ ha_instance_id: id = server.currentId }) =>
            ok({ instance_id: id, connection_state: "connecting" }),
        call_service: () => ok({ context_id: "ctx", response: null }),
        call_services: ({ calls }) => ok({ results: calls.map(() => ok({ context_id: "ctx" })) }),
    };
    onRpc("/odoo_ha_addon/<route>", async (request, { route }) => {
        const { params } = await request.json();
        server.calls.push({ route, params });
        await server.hold[route];
        return handlers[route](params);
    });
    return server;
}

async function startService() {
    const server = mockHaServer();
    const env = await makeMockEnv();
    const haData = getService("ha_data");
    await haData.ready;
    return { env, haData, server };
}

function stepEvents(haData, ...events) {
    for (const event of events) {
        haData.onGlobalState(event, (payload) => expect.step([event, payload]));
    }
}

test("starts for an HA user: current instance known, one request", async () => {
    const { haData, server } = await startService();
    expect(haData.isHaUser).toBe(true);
    expect(haData.currentInstanceId).toBe(1);
    expect(haData.currentInstanceName).toBe("Alpha");
    expect(server.calls.map((call) => call.route)).toEqual(["instances"]);
    expect(haData.stats).toEqual({ hits: 0, misses: 1, requests: 1 });
});

test("does nothing on the network for a user without the HA group", async () => {
    const server = mockHaServer();
    onRpc("has_group", ({ args }) => args[1] !== "odoo_ha_addon.group_ha_user");
    await makeMockEnv();
    const haData = getService("ha_data");
    expect(await haData.ready).toBe(false);
    expect(haData.isHaUser).toBe(false);
    expect(haData.currentInstanceId).toBe(null);
    expect(server.calls).toEqual([]);
});

test("a read is cached until its time to live runs out", async () => {
    const { haData, server } = await startService();
    freezeTime(); // only advanceTime moves the clock
    const first = await haData.getAreas();
    expect(first.areas[0].name).toBe("Kitchen 1");
    await advanceTime(ROUTE_TTL.areas - 1);
    expect(await haData.getAreas()).toBe(first);
    expect(server.count("areas")).toBe(1);
    expect(haData.stats).toEqual({ hits: 1, misses: 2, requests: 2 });

    await advanceTime(1);
    const second = await haData.getAreas();
    expect(second).not.toBe(first);
    expect(server.count("areas")).toBe(2);
    expect(haData.stats).toEqual({ hits: 1, misses: 3, requests: 3 });
});

test("each route has its own time to live", async () => {
    const { haData, server } = await startService();
    freezeTime();
    await haData.get("websocket_status");
    await haData.getAreas();
    await advanceTime(ROUTE_TTL.websocket_status);
    await haData.get("websocket_status");
    await haData.getAreas();
    expect(server.count("websocket_status")).toBe(2);
    expect(server.count("areas")).toBe(1);
});

test("entries are per instance and per params, whatever their key order", async () => {
    const { haData, server } = await startService();
    const current = await haData.getAreas();
    const explicitCurrent = await haData.getAreas({ ha_instance_id: 1 });
    const other = await haData.getAreas({ ha_instance_id: 2 });
    expect(explicitCurrent).toBe(current);
    expect(other.areas[0].name).toBe("Kitchen 2");
    expect(server.count("areas")).toBe(2);

    await haData.get("entities_by_area", { area_id: "kitchen", ha_instance_id: 2 });
    await haData.get("entities_by_area", { ha_instance_id: 2, area_id: "kitchen" });
    await haData.getEntitiesByArea("kitchen", { ha_instance_id: 2 });
    await haData.getEntitiesByArea("hall", { ha_instance_id: 2 });
    expect(server.count("entities_by_area")).toBe(2);
});

test("writes are never cached and send the contract's parameters", async () => {
    const { haData, server } = await startService();
    await haData.callService("light", "turn_on", { brightness: 10 });
    await haData.callService("light", "turn_on", { brightness: 10 });
    await haData.callService(
        "light",
        "toggle",
        {},
        {
            target: { entity_id: "light.kitchen" },
            returnResponse: true,
            instanceId: 2,
        }
    );
    await haData.callServices([{ domain: "light", service: "toggle" }], { instanceId: 2 });
    await haData.restartConnection(true);
    await haData.restartConnection(true);
    expect(server.calls.slice(1)).toEqual([
        {
            route: "call_service",
            params: { domain: "light", service: "turn_on", service_data: { brightness: 10 } },
        },
        {
            route: "call_service",
            params: { domain: "light", service: "turn_on", service_data: { brightness: 10 } },
        },
        {
            route: "call_service",
            params: {
                domain: "light",
                service: "toggle",
                service_data: {},
                target: { entity_id: "light.kitchen" },
                return_response: true,
                ha_instance_id: 2,
            },
        },
        {
            route: "call_services",
            params: { calls: [{ domain: "light", service: "toggle" }], ha_instance_id: 2 },
        },
        { route: "websocket_restart", params: { force: true } },
        { route: "websocket_restart", params: { force: true } },
    ]);
    expect(haData.stats.misses).toBe(1); // only the start-up read is a cacheable one
});

test("a restart drops the instance's cached connection status", async () => {
    const { haData, server } = await startService();
    await haData.get("websocket_status");
    await haData.restartConnection(false);
    await haData.get("websocket_status");
    expect(server.count("websocket_status")).toBe(2);
});

test("the cache is bounded: the least recently used entry goes first", async () => {
    const { haData, server } = await startService();
    // The start-up `instances` read is the oldest entry: make it the most
    // recent so that the area reads compete among themselves.
    for (let i = 0; i < CACHE_MAX_SIZE - 1; i++) {
        await haData.getEntitiesByArea(`area${i}`);
    }
    await haData.getInstances();
    await haData.getEntitiesByArea("area0"); // area0 is now recent, area1 the oldest
    expect(server.count("entities_by_area")).toBe(CACHE_MAX_SIZE - 1);
    expect(haData.cache.size).toBe(CACHE_MAX_SIZE);

    await haData.getEntitiesByArea("one_too_many");
    expect(haData.cache.size).toBe(CACHE_MAX_SIZE);
    await haData.getEntitiesByArea("area0");
    await haData.getInstances();
    expect(server.count("entities_by_area")).toBe(CACHE_MAX_SIZE);
    await haData.getEntitiesByArea("area1");
    expect(server.count("entities_by_area")).toBe(CACHE_MAX_SIZE + 1);
});

test("concurrent identical reads share one request", async () => {
    const { haData, server } = await startService();
    server.hold.areas = new Deferred();
    const reads = Array.from({ length: 20 }, () => haData.getAreas());
    server.hold.areas.resolve();
    const answers = await Promise.all(reads);
    expect(server.count("areas")).toBe(1);
    expect(new Set(answers).size).toBe(1);
    expect(haData.stats).toEqual({ hits: 19, misses: 2, requests: 2 });
});

test("force bypasses the cache and refreshes it", async () => {
    const { haData, server } = await startService();
    const first = await haData.getAreas();
    const forced = await haData.get("areas", {}, { force: true });
    expect(forced).not.toBe(first);
    expect(await haData.getAreas()).toBe(forced);
    expect(server.count("areas")).toBe(2);
});

test("clearCache empties the cache", async () => {
    const { haData, server } = await startService();
    await haData.getAreas();
    haData.clearCache();
    expect(haData.cache.size).toBe(0);
    await haData.getAreas();
    expect(server.count("areas")).toBe(2);
});

test("a failed read rejects with the envelope's error and is not cached", async () => {
    const { haData, server } = await startService();
    onRpc("/odoo_ha_addon/hardware_info", () => ({
        success: false,
        error: "Home Assistant is not reachable.",
        error_code: "ha_unavailable",
    }));
    for (let attempt = 0; attempt < 2; attempt++) {
        await expect(haData.get("hardware_info")).rejects.toThrow("Home Assistant is not reachable.");
    }
    const error = await haData.get("hardware_info").catch((e) => e);
    expect(error).toBeInstanceOf(HADataError);
    expect(error.code).toBe("ha_unavailable");
    expect(error.route).toBe("hardware_info");
    expect(haData.stats.misses).toBe(4);
    expect(server.count("hardware_info")).toBe(0); // answered by the more specific mock
});

test("switchInstance: current instance, cache cleared, one event", async () => {
    const { haData, server } = await startService();
    stepEvents(haData, "instance_switched");
    await haData.getAreas();
    const answer = await haData.switchInstance(2);
    expect(answer).toEqual({ instance_id: 2, instance_name: "Beta" });
    expect(haData.currentInstanceId).toBe(2);
    expect(haData.currentInstanceName).toBe("Beta");
    expect.verifySteps([["instance_switched", { instanceId: 2, instanceName: "Beta" }]]);
    expect(haData.cache.size).toBe(0);
    const areas = await haData.getAreas();
    expect(areas.areas[0].name).toBe("Kitchen 2");
    expect(server.count("areas")).toBe(2);
});

test("switchInstance failure: nothing changes, the user is told", async () => {
    mockService("notification", {
        add(message, { type }) {
            expect.step([type, message]);
        },
    });
    const { haData, server } = await startService();
    stepEvents(haData, "instance_switched");
    await haData.getAreas();
    await expect(haData.switchInstance(99)).rejects.toThrow(
        "You do not have access to this Home Assistant instance."
    );
    expect.verifySteps([["danger", "You do not have access to this Home Assistant instance."]]);
    expect(haData.currentInstanceId).toBe(1);
    expect(haData.currentInstanceName).toBe("Alpha");
    await haData.getAreas();
    expect(server.count("areas")).toBe(1);
});

test("offGlobalState really removes the callback", async () => {
    const { haData } = await startService();
    const callback = (payload) => expect.step(payload);
    haData.onGlobalState("states_changed", callback);
    haData.onGlobalState("states_changed", callback); // registered once
    haData.triggerGlobalCallbacks("states_changed", "first");
    haData.offGlobalState("states_changed", callback);
    haData.triggerGlobalCallbacks("states_changed", "second");
    const off = haData.onGlobalState("registry_updated", callback);
    haData.triggerGlobalCallbacks("registry_updated", "third");
    off();
    haData.triggerGlobalCallbacks("registry_updated", "fourth");
    expect.verifySteps(["first", "third"]);
    expect(() => haData.onGlobalState("no_such_event", callback)).toThrow(/Unknown/);
});
