#!/usr/bin/env python3
"""Latency and throughput of the addon's JSON routes against real Home Assistant.

    python3 bench/routes.py [--mode threaded|prefork|both] [--calls N]

For each mode a whole Odoo server runs as a separate process on a fresh
database of its own (``odoo_ha_bench_<mode>``, left in place for inspection,
server log next to it under ~/.cache/odoo_ha_addon/bench/) with the test
peers (tools/ha_peers.py, profile ``test``) registered. The script prints
figures and PASS/MISS against the targets; it is a benchmark, not a test,
and never fails on a slow figure.

How the figures are taken:
- The floor and the single-call routes are measured in interleaved rounds
  (one call of each per round) rather than route after route, so that a
  burst of load from the other users of the machine lands on the floor and
  on the routes alike and their ratios stay meaningful.
- ``call_service`` comes last in a round and the round waits, untimed, until
  the toggle is in the mirror: otherwise the next route would be measured
  while Home Assistant and the realtime owner process the state change.
  An untimed call then wakes the server up after that pause.
- Besides the client-side latency, the table shows what Odoo's own request
  log says of the measured calls (median SQL queries and server time).
"""

import argparse
import os
import re
import statistics
import sys
import threading
import time
import traceback

import psycopg2
from common import (
    BENCH_DIR,
    OdooServer,
    Session,
    free_port,
    load_average,
    load_tool,
    machine,
    summary_ms,
    wait_http,
    write_conf,
)

MODE_ARGS = {
    "threaded": [],
    "prefork": ["--workers=2", "--max-cron-threads=1"],
}
ROUTE = "/odoo_ha_addon/"
FLOOR = "/web/webclient/version_info"
WARMUP = 8
BATCH = 100
BATCH_PAUSE = 0.05  # lets the owner apply a batch's state changes before the next batch
SETTLE_TIMEOUT = 2.0
SETTLE_PAUSE = 0.05
SESSIONS = 4
HAMMER_SECONDS = 5.0
HAMMER_MAX_CALLS = 100_000  # per thread: a bound, far above what 5 s allows
CONNECT_TIMEOUT = 60.0
RESTART_TIMEOUT = 10.0
TOGGLED = "light.bed_light"
TOGGLE = {"domain": "light", "service": "toggle", "service_data": {"entity_id": TOGGLED}}

READS = ("instances", "current_instance", "websocket_status", "check_access", "areas", "entities_by_area")
LIVE = ("call_service", "hardware_info", "network_info", "ha_urls")
TABLE_LINE = "{:<30} {:>5} {:>9} {:>8} {:>6} {:>4} {:>7}  {:<21} {:<21} {}"
# Odoo's request log line: path, then query count, SQL seconds and other seconds.
REQUEST_LOG_RE = re.compile(r'"POST (\S+) HTTP/1\.[01]" \d+ - (\d+) ([\d.]+) ([\d.]+)')
EXCEPTION_LINE_RE = re.compile(r"^[A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)\b.*$", re.MULTILINE)


class Row:
    """One line of a mode's table."""

    def __init__(self, name, samples=None, errors=0, measure="", target="", passed=None, note="", server=None):
        self.name = name
        self.median, self.p95 = summary_ms(samples) if samples else (None, None)
        self.calls = len(samples or ())
        self.errors = errors
        self.measure = measure
        self.target = target
        self.passed = passed
        self.note = note
        # (queries, milliseconds) per call, from Odoo's request log
        self.queries = statistics.median(q for q, _ms in server) if server else None
        self.server_ms = statistics.median(ms for _q, ms in server) if server else None


class Samples:
    """Latencies and failed answers of one route."""

    def __init__(self):
        self.seconds = []
        self.errors = 0
        self.first_error = None

    def add(self, seconds, ok, result):
        self.seconds.append(seconds)
        if not ok:
            self.errors += 1
            if self.first_error is None:
                self.first_error = result

    def median_ms(self):
        return summary_ms(self.seconds)[0]

    def note(self):
        return "" if self.first_error is None else f"first failure: {str(self.first_error)[:160]}"


class ServerLog:
    """The server's log, read from a mark: what Odoo says of the requests it served."""

    def __init__(self, path):
        self.path = path
        self.offset = 0

    def mark(self):
        self.offset = self.path.stat().st_size

    def requests(self):
        """``{path: [(queries, milliseconds)]}`` of the requests logged since the mark."""
        found = {}
        with open(self.path, "rb") as log:
            log.seek(self.offset)
            text = log.read().decode(errors="replace")
        for match in REQUEST_LOG_RE.finditer(text):
            path, queries, sql, other = match.groups()
            found.setdefault(path, []).append((int(queries), (float(sql) + float(other)) * 1000))
        return found

    def tracebacks(self):
        """``(count, last exception line)`` over the whole log."""
        text = self.path.read_text(errors="replace")
        # Processes of a prefork server share the log: the exception line is
        # found by its shape, not by its position after "Traceback".
        exceptions = EXCEPTION_LINE_RE.findall(text)
        return text.count("\nTraceback (most recent call last):"), (exceptions[-1] if exceptions else "")


def succeeded(result):
    return isinstance(result, dict) and result.get("success") is True


def batch_succeeded(result):
    return succeeded(result) and all(item.get("success") is True for item in result["data"]["results"])


def unavailable(result):
    return isinstance(result, dict) and result.get("success") is False and result.get("error_code") == "ha_unavailable"


def is_version_info(result):
    return isinstance(result, dict) and "server_version" in result


# -- the scenario ------------------------------------------------------------------


class ModeBench:
    def __init__(self, mode, calls, peers_file, peer_urls):
        self.mode = mode
        self.calls = calls
        self.dbname = f"odoo_ha_bench_{mode}"
        self.peers_file = peers_file
        self.peer_urls = peer_urls
        self.rows = []
        self.notes = []
        self.server = None
        self.db = None

    def say(self, message):
        print(f"[{self.mode}] {message}", flush=True)

    def run(self):
        self.say(f"start, {load_average()}")
        self.load_at_start = os.getloadavg()[0]
        self.notes.append(f"{load_average()} at start")
        conf = write_conf(self.dbname)
        extra = list(MODE_ARGS[self.mode])
        if self.mode == "prefork":
            extra.append(f"--gevent-port={free_port()}")
        log_path = BENCH_DIR / f"{self.dbname}.log"
        log_path.unlink(missing_ok=True)
        self.server = OdooServer(str(conf), self.dbname, self.peers_file, extra, log_path)
        self.log = ServerLog(log_path)
        started = time.monotonic()
        self.server.create_database()
        self.say(f"database {self.dbname} created in {time.monotonic() - started:.1f} s")
        self.instance_ids = [
            row[0]
            for row in self.server.query(
                "SELECT id FROM ha_instance WHERE api_url IN %s ORDER BY sequence, id", (tuple(self.peer_urls),)
            )
        ]
        # A known state before the server starts, so that "connected" can only
        # come from this server's own connections.
        self.server.query(
            "UPDATE ha_instance SET connection_state = 'disconnected' WHERE id IN %s RETURNING id",
            (tuple(self.instance_ids),),
        )
        try:
            self.server.start()
            self.say(f"server pid {self.server.process.pid} on port {self.server.http_port}, log {log_path}")
            self.measure_connection_up()
            self.base_url = f"http://127.0.0.1:{self.server.http_port}"
            wait_http(self.base_url)
            self.wait_mirror()
            self.session = Session(self.base_url, self.dbname)
            self.notes.append(
                f"HTTP keep-alive: {'yes' if self.session.keep_alive(FLOOR) else 'no, one connection per call'}"
            )
            self.measure_rounds()
            self.measure_batch()
            self.measure_down_instance()
            self.measure_concurrency()
            self.measure_restart()
        finally:
            self.notes.append(f"{load_average()} at end")
            if max(os.getloadavg()[0], self.load_at_start) > os.cpu_count():
                self.notes.append("BUSY MACHINE: the load exceeded the core count, figures are disturbed")
            if self.db is not None:
                self.db.close()
            if self.server.process is not None:
                stopping = time.monotonic()
                self.server.stop()
                self.say("server stopped")
                self.notes.append(f"server stopped {time.monotonic() - stopping:.1f} s after SIGTERM")
                count, last = self.log.tracebacks()
                if count:
                    self.notes.append(f"server log: {count} traceback(s), last: {last[:160]}")

    # -- 5a. connection at start ---------------------------------------------------

    def measure_connection_up(self):
        ids = tuple(self.instance_ids)

        def connected():
            rows = self.server.query(
                "SELECT count(*) FROM ha_instance WHERE id IN %s AND connection_state = 'connected'", (ids,)
            )
            return rows[0][0] == len(ids)

        deadline = self.server.started + CONNECT_TIMEOUT
        while time.monotonic() < deadline and self.server.process.poll() is None:
            if connected():
                elapsed = time.monotonic() - self.server.started
                self.rows.append(
                    Row(
                        "HA connected after start",
                        measure=f"{elapsed:.2f} s",
                        target="<= 5 s",
                        passed=elapsed <= 5.0,
                        note="both instances' connection_state in the database, from process start",
                    )
                )
                return
            time.sleep(0.05)
        raise RuntimeError(f"the instances were not connected {CONNECT_TIMEOUT:.0f} s after the server started")

    def wait_mirror(self):
        """The routes read the mirror: wait for the owners' first full sync."""
        deadline = time.monotonic() + CONNECT_TIMEOUT
        while time.monotonic() < deadline:
            rows = self.server.query(
                "SELECT (SELECT count(DISTINCT instance_id) FROM ha_entity WHERE instance_id IN %s),"
                " EXISTS (SELECT 1 FROM ha_area WHERE instance_id = %s AND area_id = 'kitchen')",
                (tuple(self.instance_ids), self.instance_ids[0]),
            )
            if rows[0] == (len(self.instance_ids), True):
                return
            time.sleep(0.1)
        raise RuntimeError(f"the mirror was not filled within {CONNECT_TIMEOUT:.0f} s")

    def mirrored_state(self, entity_id):
        # One connection for the whole run: a new PostgreSQL backend per poll
        # would itself load the machine between the measured calls.
        if self.db is None:
            self.db = psycopg2.connect(dbname=self.dbname)
            self.db.autocommit = True
        with self.db.cursor() as cr:
            cr.execute(
                "SELECT state FROM ha_entity WHERE instance_id = %s AND entity_id = %s",
                (self.instance_ids[0], entity_id),
            )
            row = cr.fetchone()
        return row[0] if row else None

    def settle_toggle(self, before):
        """Wait (bounded, untimed) until the mirror shows the toggle, then a little more."""
        deadline = time.monotonic() + SETTLE_TIMEOUT
        while time.monotonic() < deadline and self.mirrored_state(TOGGLED) == before:
            time.sleep(0.005)
        time.sleep(SETTLE_PAUSE)
        # The first request after an idle pause is measurably slower (threads
        # and CPU waking up): an untimed one takes that cost, not the next route.
        self.session.timed(FLOOR)

    def run_rounds(self, plan, settle=None):
        """Warm-up rounds, then measured ones; ``{name: Samples}`` and the server's view."""
        samples = {name: Samples() for name, *_ in plan}
        slowest_warmup = dict.fromkeys(samples, 0.0)
        for round_index in range(WARMUP + self.calls):
            if round_index == WARMUP:
                self.log.mark()
            for name, path, params, check in plan:
                before = self.mirrored_state(TOGGLED) if settle == name else None
                seconds, result = self.session.timed(path, params)
                if round_index >= WARMUP:
                    samples[name].add(seconds, check(result), result)
                else:
                    slowest_warmup[name] = max(slowest_warmup[name], seconds)
                if settle == name:
                    self.settle_toggle(before)
        return samples, self.log.requests(), slowest_warmup

    # -- 1 and 2. floor and single routes, interleaved --------------------------------

    def measure_rounds(self):
        first, second = self.instance_ids
        # The session ends every round's switches on the first instance, so the
        # routes called without ha_instance_id (the browser's usual call) work on it.
        plan = [
            ("floor", FLOOR, {}, is_version_info),
            ("instances", ROUTE + "instances", {}, succeeded),
            ("current_instance", ROUTE + "current_instance", {}, succeeded),
            ("switch_instance", ROUTE + "switch_instance", {"instance_id": second}, succeeded),
            ("switch_instance", ROUTE + "switch_instance", {"instance_id": first}, succeeded),
            ("check_access", ROUTE + "check_access", {"operation": "read"}, succeeded),
            ("websocket_status", ROUTE + "websocket_status", {}, succeeded),
            ("areas", ROUTE + "areas", {}, succeeded),
            ("entities_by_area", ROUTE + "entities_by_area", {"area_id": "kitchen"}, succeeded),
            ("hardware_info", ROUTE + "hardware_info", {}, succeeded),
            ("network_info", ROUTE + "network_info", {}, succeeded),
            ("ha_urls", ROUTE + "ha_urls", {}, succeeded),
            ("call_service", ROUTE + "call_service", TOGGLE, succeeded),
        ]
        started = time.monotonic()
        self.samples, server, _slowest = self.run_rounds(plan, settle="call_service")
        self.say(f"{self.calls} rounds of {len(plan)} calls in {time.monotonic() - started:.1f} s")
        self.server_view = {name: server.get(path) for name, path, *_ in plan}

        floor = self.samples["floor"]
        self.floor_ms = floor.median_ms()
        self.rows.append(
            Row("floor (version_info)", floor.seconds, floor.errors, "1.00 x floor", server=self.server_view["floor"])
        )
        for name in READS[:3] + ("switch_instance",) + READS[3:]:
            self.ratio_row(name, 2.0 if name == "switch_instance" else 1.5)
        for name in LIVE:
            self.offset_row(name, self.samples[name], 5.0, self.server_view[name])

    def ratio_row(self, name, limit):
        samples = self.samples[name]
        ratio = samples.median_ms() / self.floor_ms
        self.rows.append(
            Row(
                name,
                samples.seconds,
                samples.errors,
                f"{ratio:.2f} x floor",
                f"<= {limit:g} x floor",
                ratio <= limit and not samples.errors,
                samples.note(),
                self.server_view[name],
            )
        )

    def offset_row(self, label, samples, limit_ms, server):
        offset = samples.median_ms() - self.floor_ms
        self.rows.append(
            Row(
                label,
                samples.seconds,
                samples.errors,
                f"floor {offset:+.1f} ms",
                f"<= floor + {limit_ms:g} ms",
                offset <= limit_ms and not samples.errors,
                samples.note(),
                server,
            )
        )

    # -- 2. call_services with 100 toggles ---------------------------------------------

    def measure_batch(self):
        entities = [
            row[0]
            for row in self.server.query(
                "SELECT entity_id FROM ha_entity WHERE instance_id = %s AND domain IN ('light', 'switch')"
                " ORDER BY entity_id",
                (self.instance_ids[0],),
            )
        ]
        calls = [
            {"domain": entity.split(".")[0], "service": "toggle", "service_data": {}, "target": {"entity_id": entity}}
            for entity in (entities[index % len(entities)] for index in range(BATCH))
        ]
        samples = Samples()
        for index in range(WARMUP + self.calls):
            if index == WARMUP:
                self.log.mark()
            seconds, result = self.session.timed(ROUTE + "call_services", {"calls": calls})
            if index >= WARMUP:
                samples.add(seconds, batch_succeeded(result), result)
            time.sleep(BATCH_PAUSE)
        single = self.samples["call_service"].median_ms()
        ratio = samples.median_ms() / single
        self.rows.append(
            Row(
                f"call_services ({BATCH})",
                samples.seconds,
                samples.errors,
                f"{ratio:.2f} x call_service",
                "<= 10 x call_service",
                ratio <= 10 and not samples.errors,
                samples.note() or f"toggles alternating over {len(entities)} lights and switches",
                self.log.requests().get(ROUTE + "call_services"),
            )
        )

    # -- 3. an instance that is down -------------------------------------------------------

    def measure_down_instance(self):
        port = free_port()  # bound then released: nothing listens on it
        created = self.session.call_kw(
            "ha.instance",
            "create",
            [{"name": "Bench down", "api_url": f"http://127.0.0.1:{port}", "api_token": "bench-no-peer"}],
        )
        down = created[0] if isinstance(created, list) else created
        plan = [
            ("call_service", ROUTE + "call_service", {**TOGGLE, "ha_instance_id": down}, unavailable),
            ("hardware_info", ROUTE + "hardware_info", {"ha_instance_id": down}, unavailable),
            ("ha_urls", ROUTE + "ha_urls", {"ha_instance_id": down}, unavailable),
            ("areas", ROUTE + "areas", {"ha_instance_id": down}, succeeded),
        ]
        samples, server, slowest_warmup = self.run_rounds(plan)
        for name, path, *_ in plan:
            self.offset_row(f"down: {name}", samples[name], 20.0, server.get(path))
        self.notes.append(
            "instance down, slowest warm-up call: "
            + ", ".join(f"{name} {seconds * 1000:.0f} ms" for name, seconds in slowest_warmup.items())
        )

    # -- 4. concurrent sessions -------------------------------------------------------------

    def measure_concurrency(self):
        sessions = [Session(self.base_url, self.dbname) for _ in range(SESSIONS)]
        try:
            for name, params in (("areas", {}), ("call_service", TOGGLE)):
                self.hammer(sessions, name, params)
        finally:
            for session in sessions:
                session.close()

    def hammer(self, sessions, name, params):
        barrier = threading.Barrier(len(sessions) + 1)
        per_thread = [Samples() for _ in sessions]

        def work(session, samples):
            barrier.wait()
            deadline = time.monotonic() + HAMMER_SECONDS
            for _ in range(HAMMER_MAX_CALLS):
                if time.monotonic() >= deadline:
                    break
                seconds, result = session.timed(ROUTE + name, params)
                samples.add(seconds, succeeded(result), result)

        threads = [
            threading.Thread(target=work, args=(session, samples), daemon=True)
            for session, samples in zip(sessions, per_thread, strict=True)
        ]
        for thread in threads:
            thread.start()
        self.log.mark()
        barrier.wait()
        started = time.perf_counter()
        for thread in threads:
            thread.join(HAMMER_SECONDS + 60)
        elapsed = time.perf_counter() - started
        seconds = [value for samples in per_thread for value in samples.seconds]
        errors = sum(samples.errors for samples in per_thread)
        rate = (len(seconds) - errors) / elapsed
        note = next((samples.note() for samples in per_thread if samples.first_error is not None), "")
        self.rows.append(
            Row(
                f"{SESSIONS} sessions: {name}",
                seconds,
                errors,
                f"{rate:.0f} ok/s",
                ">= 100/s, 0 errors",
                rate >= 100 and not errors,
                note or f"{len(seconds)} calls in {elapsed:.1f} s",
                self.log.requests().get(ROUTE + name),
            )
        )

    # -- 5b. websocket_restart ------------------------------------------------------------

    def measure_restart(self):
        before = self.session.rpc(ROUTE + "websocket_status")["data"]
        started = time.perf_counter()
        answer = self.session.rpc(ROUTE + "websocket_restart", {"force": True})
        if not succeeded(answer):
            raise RuntimeError(f"websocket_restart failed: {answer}")
        seen = []
        deadline = started + RESTART_TIMEOUT
        while time.perf_counter() < deadline:
            status = self.session.rpc(ROUTE + "websocket_status")["data"]
            if not seen or seen[-1] != status["connection_state"]:
                seen.append(status["connection_state"])
            if status["connected"] and (status["since"] or "") > (before["since"] or ""):
                elapsed = time.perf_counter() - started
                self.rows.append(
                    Row(
                        "websocket_restart->connected",
                        measure=f"{elapsed:.2f} s",
                        target="<= 2 s",
                        passed=elapsed <= 2.0,
                        note=f"states polled: {' -> '.join(seen)}; since {before['since']} -> {status['since']}",
                    )
                )
                return
            time.sleep(0.01)
        self.rows.append(
            Row(
                "websocket_restart->connected",
                measure=f"> {RESTART_TIMEOUT:.0f} s",
                target="<= 2 s",
                passed=False,
                note=f"no newer `since` than {before['since']}; states polled: {' -> '.join(seen)}",
            )
        )


# -- output ------------------------------------------------------------------------------


def print_table(bench):
    print(f"\n== {bench.mode} ({bench.dbname}, {' '.join(MODE_ARGS[bench.mode]) or 'workers=0'}) ==")
    header = TABLE_LINE.format(
        "route", "calls", "median ms", "p95 ms", "errors", "SQL", "srv ms", "measure", "target", "result"
    )
    print(header)
    print("-" * len(header))
    for row in bench.rows:
        timed = row.calls > 0
        print(
            TABLE_LINE.format(
                row.name,
                row.calls if timed else "",
                f"{row.median:.2f}" if timed else "",
                f"{row.p95:.2f}" if timed else "",
                row.errors if timed else "",
                f"{row.queries:g}" if row.queries is not None else "",
                f"{row.server_ms:.1f}" if row.server_ms is not None else "",
                row.measure,
                row.target,
                "" if row.passed is None else ("PASS" if row.passed else "MISS"),
            ).rstrip()
        )
        if row.note:
            print(f"{'':32}{row.note}")
    for note in bench.notes:
        print(f"  {note}")
    passed = [row.passed for row in bench.rows if row.passed is not None]
    print(f"  {passed.count(True)} PASS, {passed.count(False)} MISS")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--mode", choices=("threaded", "prefork", "both"), default="both")
    parser.add_argument("--calls", type=int, default=40, help="measured calls per route, after warm-up (default 40)")
    args = parser.parse_args(argv)
    if args.calls < 1:
        parser.error("--calls must be at least 1")

    harness = load_tool("ha_peers")
    peers = harness.ensure_up("bench")
    peer_urls = [peer.url.rstrip("/") for peer in peers]
    peers_file = harness.state_path("bench")

    started = time.monotonic()
    modes = ("threaded", "prefork") if args.mode == "both" else (args.mode,)
    benches, failed = [], False
    for mode in modes:
        bench = ModeBench(mode, args.calls, peers_file, peer_urls)
        benches.append(bench)
        try:
            bench.run()
        except Exception:
            failed = True
            bench.notes.append("ABORTED: " + traceback.format_exc().strip().splitlines()[-1])
            traceback.print_exc()

    print()
    for line in machine():
        print(line)
    print(f"run:     {time.monotonic() - started:.0f} s, {args.calls} measured calls per route after {WARMUP} warm-up")
    print("columns: median/p95 on the client; SQL and srv ms: medians from Odoo's request log")
    for bench in benches:
        print_table(bench)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
