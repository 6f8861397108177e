import { defineBusModels, waitNotifications } from "@bus/../tests/bus_test_helpers";
import { describe, expect, test } from "@odoo/hoot";
import { queryAllTexts } from "@odoo/hoot-dom";
import { animationFrame } from "@odoo/hoot-mock";
import {
    authenticate,
    contains,
    getService,
    makeMockEnv,
    makeMockServer,
    MockServer,
    mockService,
    mountWebClient,
    mountWithCleanup,
    onRpc,
    serverState,
} from "@web/../tests/web_test_helpers";
import { HAInstanceSwitcher } from "@odoo_ha_addon/systray/instance_switcher";

defineBusModels();
describe.current.tags("desktop");

/** `instances` and `switch_instance` as the server answers them; `calls` records the requests. */
function mockHaServer() {
    const server = {
        currentId: 1,
        instances: [
            { id: 1, name: "Alpha", connection_state: "connected", ha_version: "2025.4.4" },
            { id: 2, name: "Beta", connection_state: "connecting", ha_version: "2025.5.0" },
            { id: 3, name: "Gamma", connection_state: "disconnected", ha_version: null },
            { id: 4, name: "Delta", connection_state: "auth_failed", ha_version: null },
            { id: 5, name: "Epsilon", connection_state: "error", ha_version: null },
        ],
        calls: [],
    };
    onRpc("/odoo_ha_addon/instances", () => {
        server.calls.push("instances");
        return {
            success: true,
            data: {
                instances: server.instances.map((i) => ({ ...i, is_current: i.id === server.currentId })),
                current_instance_id: server.currentId,
            },
        };
    });
    onRpc("/odoo_ha_addon/switch_instance", async (request) => {
        const { params } = await request.json();
        server.calls.push(`switch_instance ${params.instance_id}`);
        const instance = server.instances.find((i) => i.id === params.instance_id);
        if (!instance || instance.name === "Epsilon") {
            return {
                success: false,
                error: "You do not have access to this Home Assistant instance.",
                error_code: "access_denied",
            };
        }
        server.currentId = instance.id;
        return { success: true, data: { instance_id: instance.id, instance_name: instance.name } };
    });
    return server;
}

async function mountSwitcher() {
    const server = mockHaServer();
    await makeMockServer();
    // The bus delivers user notifications to an authenticated user only.
    authenticate("admin", "admin");
    const env = await makeMockEnv();
    await mountWithCleanup(HAInstanceSwitcher);
    await getService("ha_data").ready;
    await animationFrame();
    return { env, server };
}

async function busSend(env, type, payload) {
    const received = waitNotifications([env, type, payload]);
    const [partner] = MockServer.env["res.partner"].read(serverState.partnerId);
    MockServer.env["bus.bus"]._sendone(partner, type, payload);
    await received;
    await animationFrame();
}

const openMenu = () => contains(".o_ha_instance_switcher_toggle").click();

test("shows the current instance, its state and version", async () => {
    await mountSwitcher();
    expect(".o_ha_instance_switcher").toHaveCount(1);
    expect(".o_ha_instance_switcher_toggle .o_ha_instance_name").toHaveText("Alpha");
    expect(".o_ha_instance_switcher_toggle .o_ha_instance_version").toHaveText("2025.4.4");
    expect(".o_ha_instance_switcher_toggle .o_ha_state_dot").toHaveClass("text-success");
    expect(".o_ha_instance_switcher_toggle").toHaveAttribute("data-instance-id", "1");
});

test("lists the accessible instances with their state, the current one marked", async () => {
    await mountSwitcher();
    await openMenu();
    expect(".o_ha_instance_item").toHaveCount(5);
    expect(queryAllTexts(".o_ha_instance_item .o_ha_instance_name")).toEqual([
        "Alpha",
        "Beta",
        "Gamma",
        "Delta",
        "Epsilon",
    ]);
    expect(".o_ha_instance_current").toHaveCount(1);
    expect(".o_ha_instance_current").toHaveAttribute("data-instance-id", "1");
    expect(".o_ha_instance_current").toHaveAttribute("aria-current", "true");
    const dotClass = (id) => `.o_ha_instance_item[data-instance-id='${id}'] .o_ha_state_dot`;
    expect(dotClass(1)).toHaveClass("text-success");
    expect(dotClass(2)).toHaveClass("text-warning");
    expect(dotClass(3)).toHaveClass("text-muted");
    expect(dotClass(4)).toHaveClass("text-danger");
    expect(dotClass(5)).toHaveClass("text-danger");
    expect(".o_ha_instance_item[data-instance-id='2']").toHaveAttribute(
        "data-connection-state",
        "connecting"
    );
});

test("is hidden for a user without the HA group", async () => {
    const server = mockHaServer();
    onRpc("has_group", ({ args }) => args[1] !== "odoo_ha_addon.group_ha_user");
    await mountWithCleanup(HAInstanceSwitcher);
    await getService("ha_data").ready;
    await animationFrame();
    expect(".o_ha_instance_switcher").toHaveCount(0);
    expect(server.calls).toEqual([]);
});

test("is in the navbar's systray", async () => {
    mockHaServer();
    await mountWebClient();
    await getService("ha_data").ready;
    await animationFrame();
    expect(".o_menu_systray .o_ha_instance_switcher").toHaveCount(1);
});

test("choosing an instance switches to it", async () => {
    const { server } = await mountSwitcher();
    await openMenu();
    await contains(".o_ha_instance_item[data-instance-id='2']").click();
    await animationFrame();
    expect(server.calls).toEqual(["instances", "switch_instance 2", "instances"]);
    expect(getService("ha_data").currentInstanceId).toBe(2);
    expect(".o_ha_instance_switcher_toggle .o_ha_instance_name").toHaveText("Beta");
    expect(".o_ha_instance_switcher_toggle .o_ha_state_dot").toHaveClass("text-warning");
    expect(".o_ha_instance_item").toHaveCount(0); // the menu closed
    await openMenu();
    expect(".o_ha_instance_current").toHaveAttribute("data-instance-id", "2");
});

test("choosing the current instance does nothing", async () => {
    const { server } = await mountSwitcher();
    await openMenu();
    await contains(".o_ha_instance_item[data-instance-id='1']").click();
    expect(server.calls.filter((call) => call.startsWith("switch_instance"))).toEqual([]);
});

test("a refused switch keeps the current instance and tells the user", async () => {
    mockService("notification", {
        add(message, { type }) {
            expect.step([type, message]);
        },
    });
    const { server } = await mountSwitcher();
    await openMenu();
    await contains(".o_ha_instance_item[data-instance-id='5']").click();
    await animationFrame();
    expect(server.calls).toInclude("switch_instance 5");
    expect.verifySteps([["danger", "You do not have access to this Home Assistant instance."]]);
    expect(".o_ha_instance_switcher_toggle .o_ha_instance_name").toHaveText("Alpha");
    expect(getService("ha_data").currentInstanceId).toBe(1);
});

test("follows the connection state from the bus", async () => {
    const { env } = await mountSwitcher();
    await busSend(env, "ha_connection_status", {
        instance_id: 1,
        connection_state: "error",
        ha_version: "2025.4.4",
        message: "Connection refused",
    });
    expect(".o_ha_instance_switcher_toggle .o_ha_state_dot").toHaveClass("text-danger");
    expect(".o_ha_instance_switcher_toggle .o_ha_state_dot").toHaveAttribute("data-state", "error");
});

test("follows a switch made in another tab", async () => {
    const { env, server } = await mountSwitcher();
    server.currentId = 3;
    await busSend(env, "ha_instance_switched", { instance_id: 3, instance_name: "Gamma" });
    expect(".o_ha_instance_switcher_toggle .o_ha_instance_name").toHaveText("Gamma");
    expect(".o_ha_instance_switcher_toggle .o_ha_state_dot").toHaveClass("text-muted");
    expect(".o_ha_instance_switcher_toggle .o_ha_instance_version").toHaveCount(0);
});
