#!/usr/bin/env python3
"""The dashboard in a real browser, and the ``ha_data`` service's cache.

    python3 bench/frontend.py [--tiles 500] [--loads 5] [--warmup 2]

One Odoo server in threaded mode runs as a separate process on a fresh
database of its own (``odoo_ha_bench_frontend``, left in place for
inspection, server log under ~/.cache/odoo_ha_addon/bench/) with the bench
peers (tools/ha_peers.py, profile ``bench``) registered, and a headless
Chromium driven over the DevTools protocol, logged in as admin.

1. Dashboard with ``--tiles`` entity tiles for HA Bench Alpha (the first
   instance, so the one the dashboard shows). The dashboard lists only
   entities placed in an area, and a state POSTed to ``/api/states`` has no
   entity registry entry, so it can have no area: such states would enlarge
   the mirror but never reach the screen. The benchmark therefore creates
   real registry entities instead, ``input_boolean`` and ``input_number``
   helpers (storage collections, created over Home Assistant's WebSocket
   API like the helpers page does), spread over Alpha's areas, as many as
   it takes to reach ``--tiles`` together with the demo entities already in
   an area. Every helper is deleted at the end, also after a failure, and
   leftovers of an interrupted run are deleted before the run.
   Per load, in a fresh tab (same browser profile, so Odoo's assets come
   from the browser cache, as for a returning user; two untimed loads warm
   the server and the browser first): time to interactive, measured in the
   page from navigation start (``performance.timeOrigin``) with a script installed
   before any of Odoo's: a MutationObserver notes when the current
   instance's pane holds every expected tile and no area is still loading
   ("DOM"), then a ``requestAnimationFrame`` and a ``requestIdleCallback``
   round trip note when a frame was produced and the main thread went idle
   ("TTI"). Then a forced garbage collection and the JS heap in use. A last
   load with ``?debug=1`` (OWL's dev mode validates every component's props)
   only collects the browser's errors and warnings.
2. The service cache, in the last tab, through the live service
   (``odoo.__WOWL_DEBUG__.root.env.services.ha_data``, set by Odoo 18 for
   the root app without debug mode): concurrent identical reads and reads
   within the time to live, counting the requests the browser actually
   sent (``Network.requestWillBeSent``).

It prints figures (and PASS/MISS for the cache's request counts); it is a
benchmark, not a test, and never fails on a slow figure.
"""

import argparse
import contextlib
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import traceback

import psycopg2
import requests
import websocket
from common import BENCH_DIR, OdooServer, Session, free_port, load_average, load_tool, machine, wait_http, write_conf

DB = "odoo_ha_bench_frontend"
CHROMIUM = "/usr/bin/chromium"
DASHBOARD_PATH = "/odoo/action-odoo_ha_addon.ha_dashboard_action"
ROUTE = "/odoo_ha_addon/"
HELPER_PREFIX = "bench_fe_"  # object ids of our helpers, so a sweep finds exactly them
HELPER_DOMAINS = ("input_boolean", "input_number")
MIRROR_TIMEOUT = 90.0
BROWSER_TIMEOUT = 30.0
FIRST_LOAD_TIMEOUT = 120.0  # the first load of a fresh database builds Odoo's asset bundles
LOAD_TIMEOUT = 60.0
DRAIN = 0.3  # lets the last Network events of a step arrive before they are counted
CONCURRENT_READS = 20
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    # A fixed viewport, so layout work is the same from run to run.
    "--window-size=1600,1000",
]
# Events worth keeping; the rest (every response, every data chunk) is dropped as it arrives.
KEPT_EVENTS = {
    "Network.requestWillBeSent",
    "Page.loadEventFired",
    "Runtime.exceptionThrown",
    "Runtime.consoleAPICalled",
    "Log.entryAdded",
}

# Installed before any script of the page: it must see the document from its first node.
WATCHER_JS = """
(() => {
    const expectedTiles = %(tiles)d;
    const expectedAreas = %(areas)d;
    window.__haBench = new Promise((resolve) => {
        let done = false;
        let shell = null; // when the dashboard's action is on screen, still loading
        // The addon's requests as the page saw them, when each left and its
        // answer was in, and the group checks the service and the dashboard
        // wait for before their first read.
        const rpcs = () =>
            performance
                .getEntriesByType("resource")
                .filter((entry) => entry.name.includes("/odoo_ha_addon/") || entry.name.endsWith("/has_group"))
                .map((entry) => ({
                    route: entry.name.split("/").pop(),
                    start: entry.startTime,
                    end: entry.responseEnd,
                }));
        const count = () => {
            const pane = document.querySelector(".o_ha_dashboard .o_ha_current_pane");
            return pane
                ? {
                      tiles: pane.querySelectorAll(".o_ha_entity").length,
                      areas: pane.querySelectorAll(".o_ha_area").length,
                      loading: pane.querySelectorAll('.o_ha_area[data-status="loading"]').length,
                  }
                : { tiles: 0, areas: 0, loading: 0 };
        };
        const finish = (result) => {
            done = true;
            observer.disconnect();
            resolve(result);
        };
        const check = () => {
            if (done) {
                return;
            }
            if (shell === null && document.querySelector(".o_ha_dashboard")) {
                shell = performance.now();
            }
            const seen = count();
            if (seen.tiles >= expectedTiles && seen.areas >= expectedAreas && !seen.loading) {
                const dom = performance.now();
                done = true;
                observer.disconnect();
                requestAnimationFrame(() => {
                    const frame = performance.now();
                    requestIdleCallback(
                        () => resolve({ shell, dom, frame, idle: performance.now(), rpcs: rpcs(), ...seen }),
                        { timeout: 10000 }
                    );
                });
            }
        };
        const observer = new MutationObserver(check);
        observer.observe(document, {
            childList: true,
            subtree: true,
            attributes: true,
            attributeFilter: ["data-status"],
        });
        setTimeout(() => done || finish({ timeout: true, ...count() }), %(timeout_ms)d);
    });
})();
"""

SERVICE_JS = "odoo.__WOWL_DEBUG__.root.env.services.ha_data"
# (key, title, width, format) of the table of loads; the first is the label.
LOAD_COLUMNS = [
    ("load", "load", 6, ""),
    ("shell", "action", 6, ".0f"),
    ("first_rpc", "HA RPC 1st", 10, ".0f"),
    ("last_answer", "ebyarea end", 11, ".0f"),
    ("dom", "DOM", 5, ".0f"),
    ("frame", "frame", 5, ".0f"),
    ("idle", "TTI", 5, ".0f"),
    ("tiles", "tiles", 5, ".0f"),
    ("heap_mb", "heap MB", 7, ".1f"),
    ("nodes", "nodes", 6, ".0f"),
    ("listeners", "listeners", 9, ".0f"),
    ("script_ms", "script ms", 9, ".0f"),
    ("layout_ms", "layout ms", 9, ".0f"),
    ("load1", "load 1m", 7, ".2f"),
]


def say(message):
    print(message, flush=True)


def verdict(passed):
    return "PASS" if passed else "MISS"


# -- Home Assistant side ------------------------------------------------------------------


class Helpers:
    """The benchmark's helper entities in one Home Assistant peer."""

    def __init__(self, harness, peer):
        self.harness = harness
        self.peer = peer

    def ws(self):
        # The harness's client: it authenticates and skips event messages.
        return self.harness._websocket(self.peer.url, self.peer.token)

    def placed_now(self, call):
        """Entities of the peer the dashboard would show: an area of their own or their device's."""
        device_area = {d["id"]: d["area_id"] for d in call("config/device_registry/list")}
        return sum(
            1
            for entry in call("config/entity_registry/list")
            if not entry.get("disabled_by") and (entry["area_id"] or device_area.get(entry["device_id"]))
        )

    def create(self, tiles):
        """Enough helpers, spread over the peer's areas, to show ``tiles`` entities; ``(added, areas)``."""
        with self.ws() as call:
            areas = [area["area_id"] for area in call("config/area_registry/list")]
            if not areas:
                raise RuntimeError(f"{self.peer.name} has no area")
            missing = tiles - self.placed_now(call)
            for index in range(max(0, missing)):
                name = f"Bench FE {index:04d}"
                if index % 2:
                    call(
                        "input_number/create",
                        name=name,
                        min=0,
                        max=5000,
                        step=1,
                        initial=(index * 37) % 5000,
                        unit_of_measurement="W",
                    )
                else:
                    call("input_boolean/create", name=name, initial=bool(index % 4))
            ours = [
                entry
                for entry in call("config/entity_registry/list")
                if entry["platform"] in HELPER_DOMAINS and str(entry["unique_id"]).startswith(HELPER_PREFIX)
            ]
            for index, entry in enumerate(sorted(ours, key=lambda e: e["entity_id"])):
                call("config/entity_registry/update", entity_id=entry["entity_id"], area_id=areas[index % len(areas)])
            return len(ours), len(areas)

    def remove(self):
        """Delete every helper of ours, this run's or an interrupted one's; returns how many."""
        removed = 0
        with self.ws() as call:
            for domain in HELPER_DOMAINS:
                for item in call(f"{domain}/list"):
                    if item["id"].startswith(HELPER_PREFIX):
                        call(f"{domain}/delete", **{f"{domain}_id": item["id"]})
                        removed += 1
        return removed


# -- the browser ---------------------------------------------------------------------------


class CdpError(RuntimeError):
    pass


class Browser:
    """A headless Chromium of our own, driven over one DevTools WebSocket (flat sessions)."""

    def __init__(self):
        self.profile = tempfile.mkdtemp(prefix="odoo_ha_bench_chromium_")
        self.port = free_port()
        self.process = subprocess.Popen(
            [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={self.profile}", f"--remote-debugging-port={self.port}"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,  # its helper processes form a group of ours, stopped with it
        )
        self.ws = None
        self.next_id = 0
        self.events = []  # (sessionId, method, params), only KEPT_EVENTS
        http = requests.Session()
        http.trust_env = False  # loopback only, whatever the environment says about proxies
        deadline = time.monotonic() + BROWSER_TIMEOUT
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"Chromium exited with {self.process.returncode}")
            try:
                url = http.get(f"http://127.0.0.1:{self.port}/json/version", timeout=2).json()["webSocketDebuggerUrl"]
                break
            except (requests.RequestException, ValueError, KeyError):
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Chromium's DevTools did not answer within {BROWSER_TIMEOUT:.0f} s") from None
                time.sleep(0.1)
        http.close()
        # No Origin header: Chromium refuses DevTools connections from other origins.
        self.ws = websocket.create_connection(url, timeout=BROWSER_TIMEOUT, suppress_origin=True)

    def _receive(self, deadline):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        self.ws.settimeout(remaining)
        message = json.loads(self.ws.recv())
        if message.get("method") in KEPT_EVENTS:
            self.events.append((message.get("sessionId"), message["method"], message.get("params", {})))
        return message

    def send(self, method, params=None, session=None, timeout=BROWSER_TIMEOUT):
        self.next_id += 1
        message_id = self.next_id
        message = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            try:
                message = self._receive(deadline)
            except (TimeoutError, websocket.WebSocketTimeoutException):
                raise CdpError(f"{method}: no answer within {timeout:.0f} s") from None
            if message.get("id") == message_id:
                if "error" in message:
                    raise CdpError(f"{method}: {message['error'].get('message')}")
                return message["result"]

    def pump(self, seconds):
        """Read events for ``seconds``."""
        deadline = time.monotonic() + seconds
        with contextlib.suppress(TimeoutError, websocket.WebSocketTimeoutException):
            for _ in range(1_000_000):
                self._receive(deadline)

    def wait_event(self, session, method, since, timeout):
        deadline = time.monotonic() + timeout
        while not any(s == session and m == method for s, m, _p in self.events[since:]):
            try:
                self._receive(deadline)
            except (TimeoutError, websocket.WebSocketTimeoutException):
                raise CdpError(f"no {method} within {timeout:.0f} s") from None

    def evaluate(self, session, expression, timeout=BROWSER_TIMEOUT):
        result = self.send(
            "Runtime.evaluate",
            {"expression": expression, "awaitPromise": True, "returnByValue": True},
            session,
            timeout,
        )
        if "exceptionDetails" in result:
            details = result["exceptionDetails"]
            raise CdpError(f"page: {details.get('exception', {}).get('description') or details.get('text')}")
        return result["result"].get("value")

    def open_page(self, cookie):
        """A fresh tab, attached, with the domains the benchmark listens to and the session cookie."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Network", "Runtime", "Performance", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.send("Network.setCookie", cookie, session)
        return target, session

    def close_page(self, target):
        self.send("Target.closeTarget", {"targetId": target})

    def requests_to(self, session, prefix, since):
        return [
            params["request"]["url"]
            for s, method, params in self.events[since:]
            if s == session and method == "Network.requestWillBeSent" and prefix in params["request"]["url"]
        ]

    def close(self):
        if self.ws is not None:
            with contextlib.suppress(Exception):
                self.send("Browser.close", timeout=5)
            with contextlib.suppress(Exception):
                self.ws.close()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                # The group was created for this Chromium alone (start_new_session).
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


# -- the run --------------------------------------------------------------------------------


class FrontendBench:
    def __init__(self, args):
        self.args = args
        self.harness = load_tool("ha_peers")
        self.peers = self.harness.ensure_up("bench")
        self.alpha = self.peers[0]
        self.helpers = Helpers(self.harness, self.alpha)
        self.server = None
        self.browser = None
        self.phases = []  # {label, tiles, areas, total, loads: [one dict per measured load]}
        self.cookie = None
        self.cache_rows = []  # (check, rpcs, stats, target, verdict, note)
        self.notes = []
        self.page_errors = []
        self.debug_errors = []

    def run(self):
        say(f"start, {load_average()}")
        self.load_at_start = os.getloadavg()[0]
        self.notes.append(f"{load_average()} at start")
        left = self.helpers.remove()
        if left:
            self.notes.append(f"{left} helpers left by an interrupted run deleted before the run")
        try:
            self.start_server()
            self.browser = Browser()
            self.browser_version = self.browser.send("Browser.getVersion")["product"]
            self.login()
            if self.args.baseline:
                # The same dashboard with the demo entities only: what the
                # extra tiles cost is the difference.
                self.measure_dashboard("demo entities only", self.wait_mirror(), self.args.warmup)
            started = time.monotonic()
            self.helper_count, self.area_count = self.helpers.create(self.args.tiles)
            say(
                f"{self.helper_count} helpers in {self.area_count} areas of {self.alpha.name} "
                f"in {time.monotonic() - started:.1f} s"
            )
            mirror = self.wait_mirror()
            # With a baseline the server and browser are warm already: one
            # warm-up load reads the new areas' answers into the server's caches.
            warmup = 1 if self.args.baseline else self.args.warmup
            self.measure_dashboard(f"{self.helper_count} helpers added", mirror, warmup, final=True)
        finally:
            self.notes.append(f"{load_average()} at end")
            if max(os.getloadavg()[0], self.load_at_start) > os.cpu_count():
                self.notes.append("BUSY MACHINE: the load exceeded the core count, figures are disturbed")
            if self.browser is not None:
                self.browser.close()
            if self.server is not None and self.server.process is not None:
                self.server.stop()
                say("server stopped")
                # Tracebacks while serving are the addon's concern; those of
                # threads dying as the process exits are told apart.
                text = self.log_path.read_text(errors="replace")
                serving, _sep, stopping = text.partition("odoo.service.server: Initiating shutdown")
                for when, part in (("while serving", serving), ("during shutdown", stopping)):
                    count = part.count("Traceback (most recent call last):")
                    if count:
                        self.notes.append(f"server log: {count} traceback(s) {when}, see {self.log_path}")
            # After the server: its mirror need not follow hundreds of deletions.
            removed = self.helpers.remove()
            say(f"{removed} helpers deleted from {self.alpha.name}")

    # -- server ------------------------------------------------------------------------

    def start_server(self):
        conf = write_conf(DB)
        self.log_path = BENCH_DIR / f"{DB}.log"
        self.log_path.unlink(missing_ok=True)
        self.server = OdooServer(str(conf), DB, self.harness.state_path("bench"), [], self.log_path)
        started = time.monotonic()
        self.server.create_database()
        say(f"database {DB} created in {time.monotonic() - started:.1f} s")
        rows = self.server.query("SELECT id FROM ha_instance WHERE api_url = %s", (self.alpha.url.rstrip("/"),))
        self.instance_id = rows[0][0]
        self.server.start()
        self.base_url = f"http://127.0.0.1:{self.server.http_port}"
        wait_http(self.base_url)
        say(f"server pid {self.server.process.pid} on port {self.server.http_port}, log {self.log_path}")

    def wait_mirror(self):
        """Until the mirror places as many entities of Alpha in areas as Home Assistant does."""
        with self.helpers.ws() as call:
            expected = self.helpers.placed_now(call)
        deadline = time.monotonic() + MIRROR_TIMEOUT
        db = psycopg2.connect(dbname=DB)
        db.autocommit = True
        try:
            with db.cursor() as cr:
                while True:
                    cr.execute(
                        "SELECT count(*) FILTER (WHERE area_id IS NOT NULL), count(*),"
                        " (SELECT count(*) FROM ha_area WHERE instance_id = %s)"
                        " FROM ha_entity WHERE instance_id = %s",
                        (self.instance_id, self.instance_id),
                    )
                    placed, total, areas = cr.fetchone()
                    if placed >= expected:
                        break
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"mirror: {placed} of {expected} entities in areas after {MIRROR_TIMEOUT} s")
                    time.sleep(0.2)
        finally:
            db.close()
        waited = time.monotonic() - (deadline - MIRROR_TIMEOUT)
        say(f"mirror: {total} entities of {self.alpha.name}, {placed} in {areas} areas, after {waited:.1f} s")
        return {"tiles": placed, "total": total, "areas": areas}

    # -- 1. dashboard ---------------------------------------------------------------------

    def login(self):
        session = Session(self.base_url, DB)
        self.cookie = {
            "name": "session_id",
            "value": session.http.cookies.get("session_id"),
            "domain": "127.0.0.1",
            "path": "/",
            "httpOnly": True,
        }
        session.close()

    def measure_dashboard(self, label, mirror, warmup, final=False):
        phase = {"label": label, **mirror, "loads": []}
        self.phases.append(phase)
        self.expected_tiles = mirror["tiles"]
        watcher = WATCHER_JS % {
            "tiles": mirror["tiles"],
            "areas": mirror["areas"],
            "timeout_ms": int(FIRST_LOAD_TIMEOUT * 1000),
        }
        # The first loads warm the server (asset bundles of a fresh database,
        # caches) and the browser (V8 caches the compiled code of a script
        # from its second load on): they are not counted.
        plan = [("warm-up", "")] * warmup + [("measured", "")] * self.args.loads
        if final:
            # Last, OWL's dev mode validates every component's props: a check
            # of the front end, whose timings are not comparable.
            plan.append(("debug", "?debug=1"))
        measured = 0
        for index, (kind, query) in enumerate(plan):
            target, page = self.browser.open_page(self.cookie)
            self.browser.send("Page.addScriptToEvaluateOnNewDocument", {"source": watcher}, page)
            errors = self.debug_errors if kind == "debug" else self.page_errors
            figures = self.load(page, query, errors, first=not self.phases[:-1] and index == 0)
            if kind == "measured":
                measured += 1
                phase["loads"].append(figures)
                say(
                    f"load {measured}: {figures['tiles']} tiles, DOM {figures['dom']:.0f} ms, "
                    f"TTI {figures['idle']:.0f} ms, heap {figures['heap_mb']:.1f} MB, {load_average()}"
                )
                if final and measured == self.args.loads:
                    self.measure_cache(page)
            else:
                self.notes.append(f"{label}: {kind} load{query}: TTI {figures['idle']:.0f} ms, not counted")
                say(self.notes[-1])
            # On the normal path only: after a failure or a signal the DevTools
            # stream may be cut mid-message, and Browser.close() ends every tab.
            self.browser.close_page(target)

    def load(self, page, query, errors, first):
        browser = self.browser
        since = len(browser.events)
        timeout = FIRST_LOAD_TIMEOUT if first else LOAD_TIMEOUT
        browser.send("Page.navigate", {"url": self.base_url + DASHBOARD_PATH + query}, page)
        browser.wait_event(page, "Page.loadEventFired", since, timeout)
        result = browser.evaluate(page, "window.__haBench", timeout=timeout + 15)
        if not result or result.get("timeout"):
            raise RuntimeError(f"dashboard not complete: {result} (expected {self.expected_tiles} tiles)")
        # The watcher's time is the tiles' time; anything else on its way is not part of the load.
        browser.pump(DRAIN)
        rpcs = {}
        for url in browser.requests_to(page, ROUTE, since):
            name = url.split(ROUTE, 1)[1]
            rpcs[name] = rpcs.get(name, 0) + 1
        for s, method, params in browser.events[since:]:
            if s != page:
                continue
            if method == "Runtime.exceptionThrown":
                details = params["exceptionDetails"]
                errors.append(f"exception: {(details.get('exception') or {}).get('description') or details['text']}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                errors.append(f"log: {params['entry'].get('url', '')}: {params['entry']['text']}")
            elif method == "Runtime.consoleAPICalled" and params["type"] in ("error", "warning"):
                text = " ".join(str(arg.get("value", arg.get("description", ""))) for arg in params["args"])
                errors.append(f"console.{params['type']}: {text}")
        browser.send("HeapProfiler.collectGarbage", session=page)
        heap = browser.send("Runtime.getHeapUsage", session=page)
        metrics = {m["name"]: m["value"] for m in browser.send("Performance.getMetrics", session=page)["metrics"]}
        return {
            "shell": result["shell"] if result["shell"] is not None else float("nan"),
            "first_rpc": min((r["start"] for r in result["rpcs"] if r["route"] != "has_group"), default=float("nan")),
            "last_answer": max(
                (r["end"] for r in result["rpcs"] if r["route"] == "entities_by_area"), default=float("nan")
            ),
            "waterfall": result["rpcs"],
            "dom": result["dom"],
            "frame": result["frame"],
            "idle": result["idle"],
            "tiles": result["tiles"],
            "heap_mb": heap["usedSize"] / 2**20,
            "nodes": int(metrics.get("Nodes", 0)),
            "listeners": int(metrics.get("JSEventListeners", 0)),
            "script_ms": metrics.get("ScriptDuration", 0) * 1000,
            "layout_ms": metrics.get("LayoutDuration", 0) * 1000,
            "rpcs": rpcs,
            "load1": os.getloadavg()[0],
        }

    # -- 2. service cache -------------------------------------------------------------------

    def cache_step(self, page, label, body, target):
        """Run ``body`` (JS statements using ``svc``, returning a value) and count the ``areas`` requests."""
        browser = self.browser
        since = len(browser.events)
        value = browser.evaluate(
            page,
            f"""(async () => {{
                const svc = {SERVICE_JS};
                await svc.ready;
                const before = {{ ...svc.stats }};
                const started = performance.now();
                const value = await (async () => {{ {body} }})();
                const ms = performance.now() - started;
                const stats = Object.fromEntries(Object.keys(svc.stats).map((k) => [k, svc.stats[k] - before[k]]));
                return {{ value, ms, stats }};
            }})()""",
        )
        browser.pump(DRAIN)
        rpcs = len(browser.requests_to(page, ROUTE + "areas", since))
        others = len(browser.requests_to(page, ROUTE, since)) - rpcs
        stats = " ".join(f"{key} {count:+d}" for key, count in value["stats"].items())
        detail = f"{value['ms']:.1f} ms in the page"
        if value.get("value"):
            detail += f"; {value['value']}"
        if others:
            detail += f"; {others} other /odoo_ha_addon/ request(s) meanwhile"
        self.cache_rows.append((label, rpcs, stats, target, verdict(rpcs == target), detail))

    def measure_cache(self, page):
        n = CONCURRENT_READS
        self.cache_step(
            page,
            f'clearCache(), {n} concurrent get("areas")',
            f"""svc.clearCache();
                const answers = await Promise.all(Array.from({{ length: {n} }}, () => svc.get("areas")));
                return answers.every((a) => a === answers[0]) ? "one shared answer" : "answers differ";""",
            1,
        )
        self.cache_step(
            page,
            f'{n} sequential get("areas") within TTL',
            f'for (let i = 0; i < {n}; i++) {{ await svc.get("areas"); }} return "";',
            0,
        )
        self.cache_step(
            page,
            f'{n} concurrent get("areas") within TTL',
            f'await Promise.all(Array.from({{ length: {n} }}, () => svc.get("areas"))); return "";',
            0,
        )
        # Not in the contract, but the service says so (a key per instance,
        # shared by the implicit and the explicit read): the dashboard's panel
        # reads with the explicit id.
        self.cache_step(
            page,
            'get("areas", {ha_instance_id: current})',
            'await svc.get("areas", { ha_instance_id: svc.currentInstanceId }); return "";',
            0,
        )
        self.cache_step(
            page, 'get("areas", {}, {force: true})', 'await svc.get("areas", {}, { force: true }); return "";', 1
        )


# -- output --------------------------------------------------------------------------------


def print_report(bench, elapsed, failed):
    print()
    for line in machine():
        print(line)
    print(f"browser: {getattr(bench, 'browser_version', 'not started')}, headless, 1600x1000")
    print(f"run:     {elapsed:.0f} s{', ABORTED' if failed else ''}")
    print(
        "method:  in-page, from navigation start: DOM = every tile of the current instance in the DOM and no area"
        " loading (MutationObserver); TTI = then a requestAnimationFrame and a requestIdleCallback round trip;"
        " heap = Runtime.getHeapUsage after HeapProfiler.collectGarbage; fresh tab per load, warm server,"
        " browser cache warm"
    )
    medians = []
    for number, phase in enumerate(bench.phases, start=1):
        loads = phase["loads"]
        print(
            f"\n== 1.{number} dashboard of {bench.alpha.name}, {phase['label']}: {phase['total']} entities mirrored,"
            f" {phase['tiles']} in its {phase['areas']} areas (= tiles), {len(loads)} loads =="
        )
        if not loads:
            continue
        header = "  ".join(f"{title:>{width}}" for _key, title, width, _fmt in LOAD_COLUMNS)
        print(header)
        print("-" * len(header))
        rows = [(str(index), load) for index, load in enumerate(loads, start=1)]
        median = {key: statistics.median(load[key] for load in loads) for key, *_ in LOAD_COLUMNS[1:]}
        medians.append(median)
        for label, load in [*rows, ("median", median)]:
            cells = [f"{label:>{LOAD_COLUMNS[0][2]}}"]
            cells += [f"{format(load[key], fmt):>{width}}" for key, _title, width, fmt in LOAD_COLUMNS[1:]]
            print("  ".join(cells))
        last = loads[-1]
        # Per route, the count in each load: a load that reads a route twice stands out.
        routes = sorted({route for load in loads for route in load["rpcs"]})
        print(
            f"  requests to {ROUTE} per load (load 1, 2, ...): "
            + ", ".join(f"{route} {'/'.join(str(load['rpcs'].get(route, 0)) for load in loads)}" for route in routes)
        )
        print(
            "  timeline in the page, with the has_group checks (ms): "
            + ", ".join(
                f"{r['route']} {r['start']:.0f}-{r['end']:.0f}"
                for r in sorted(last["waterfall"], key=lambda r: r["start"])
            )
        )
    if bench.phases:
        print(
            "  ms from navigation start; action = the dashboard's action is in the DOM (still loading);"
            " HA RPC 1st = the first request to /odoo_ha_addon/ leaves; ebyarea end = the last entities_by_area"
            " answer is in (as the page saw it: a busy main thread delays it)"
        )
    if len(medians) == 2 and medians[1]["tiles"] > medians[0]["tiles"]:
        base, full = medians
        extra = full["tiles"] - base["tiles"]
        print(
            f"  {extra:.0f} extra tiles: TTI {full['idle'] - base['idle']:+.0f} ms"
            f" ({(full['idle'] - base['idle']) / extra:+.2f} ms per tile),"
            f" DOM after the last answer {full['dom'] - full['last_answer']:.0f} ms vs"
            f" {base['dom'] - base['last_answer']:.0f} ms,"
            f" heap {full['heap_mb'] - base['heap_mb']:+.1f} MB"
            f" ({(full['heap_mb'] - base['heap_mb']) * 1024 / extra:+.1f} KB per tile),"
            f" DOM nodes {full['nodes'] - base['nodes']:+.0f}"
        )
    if bench.cache_rows:
        line = "{:<44} {:>4} {:<32} {:>6} {:<6} {}"
        print(
            "\n== 2. ha_data service cache, live service in the last tab (RPCs = requests the browser sent to"
            " /odoo_ha_addon/areas, from Network.requestWillBeSent; stats = change of the service's own counters) =="
        )
        header = line.format("check", "RPCs", "stats (delta)", "target", "result", "note")
        print(header)
        print("-" * len(header))
        for row in bench.cache_rows:
            print(line.format(*row))
    print()
    for label, errors in (("loads", bench.page_errors), ("debug=1 load", bench.debug_errors)):
        print(f"  browser errors and warnings, {label}: {len(errors) or 'none'}")
        for error in dict.fromkeys(errors):  # each distinct message once
            print(f"    {error[:400]}")
    for note in bench.notes:
        print(f"  {note}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tiles", type=int, default=500, help="entity tiles on the dashboard (default 500)")
    parser.add_argument("--loads", type=int, default=5, help="measured loads (default 5)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed loads before them (default 2)")
    parser.add_argument(
        "--no-baseline",
        dest="baseline",
        action="store_false",
        help="skip the loads of the dashboard with the demo entities only",
    )
    args = parser.parse_args(argv)
    if args.loads < 1 or args.tiles < 1 or args.warmup < 1:
        parser.error("--loads, --warmup and --tiles must be at least 1")
    # A SIGTERM must still run the cleanup: Home Assistant keeps helpers across restarts.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.monotonic()
    bench = FrontendBench(args)
    failed = False
    try:
        bench.run()
    except Exception:
        failed = True
        bench.notes.append("ABORTED: " + traceback.format_exc().strip().splitlines()[-1])
        traceback.print_exc()
    print_report(bench, time.monotonic() - started, failed)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
