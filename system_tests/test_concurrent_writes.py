"""A user request writing the mirror while the realtime owner updates it.

The realistic user write is the manager's *Sync now*
(``ha.instance.action_sync_now``): it reads everything from Home Assistant
and rewrites the mirror in the request's transaction, while the owner's
writer thread applies ``state_changed`` events in transactions of its own.
Odoo runs as a real threaded server against the real peers; many *Sync now*
calls go over JSON-RPC in parallel with a burst of state changes made in
Home Assistant. Nothing may be lost and no error may reach the user: Odoo
retries a request that hit a serialization failure, the owner retries its
own transactions.
"""

import http.client
import itertools
import json
import os
import threading
import time
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests

from .common import OdooServer, harness, wait_for

DB = "odoo_ha_test_concurrent"
PREFIX = "sensor.odoo_ha_race_"
EXISTING = 40  # entities updated by the bursts, created before them
SYNC_CLIENTS = 3  # managers pressing "Sync now" over and over
CHANGES = 1200
RATE = 300.0  # state changes per second: each burst lasts about 4 s
DRIVERS = 4
NEW_EVERY = 8  # in the second test, every 8th change is the first state of a new entity
MAX_SYNC_CALLS = 200  # per client: a bound far above what a burst allows
RPC_TIMEOUT = 60  # Odoo's retries of a conflicting request sleep up to 1 + 2 + 4 + 8 s
SETTLE_TIMEOUT = 20


@pytest.fixture(scope="module")
def peers():
    return harness().ensure_up("test")


@pytest.fixture(scope="module")
def odoo_conf():
    conf = os.environ.get("ODOO_HA_TEST_CONF")
    if not conf:
        pytest.fail("ODOO_HA_TEST_CONF is not set: run the tests with scripts/test.sh")
    return conf


@pytest.fixture(scope="module")
def beta(peers):
    """The peer under load; the test's sensors are removed from it afterwards."""
    peer = peers[1]
    remove_test_states(peer)
    yield peer
    remove_test_states(peer)


@pytest.fixture(scope="module")
def server(peers, odoo_conf, tmp_path_factory):
    peers_file = Path(os.environ.get("HA_TEST_PEERS") or Path.home() / ".cache/odoo_ha_addon/peers/test.json")
    log_path = tmp_path_factory.mktemp("concurrent") / "odoo.log"
    odoo = OdooServer(odoo_conf, DB, peers_file, [], log_path)
    odoo.create_database()
    odoo.start()
    try:
        wait_for(
            lambda: {row[0] for row in odoo.query("SELECT connection_state FROM ha_instance")} == {"connected"},
            60,
            "both instances connected",
        )
        # The owners' first full sync: the mirror has every instance's entities.
        wait_for(
            lambda: odoo.query("SELECT count(DISTINCT instance_id) FROM ha_entity")[0][0] == len(peers),
            60,
            "the mirror filled",
        )
        yield odoo
    finally:
        odoo.stop()
        print(f"threaded server log: {log_path}")


@pytest.fixture(scope="module")
def instance_id(server, beta):
    return server.query("SELECT id FROM ha_instance WHERE api_url = %s", (beta.url,))[0][0]


@pytest.fixture(scope="module")
def existing(server, beta, instance_id):
    """Sensors that exist in Home Assistant and in the mirror before the race."""
    entity_ids = [f"{PREFIX}{index}" for index in range(EXISTING)]
    for entity_id in entity_ids:
        beta.rest("POST", f"/api/states/{entity_id}", json={"state": "initial"})
    wait_for(lambda: len(mirror(server, instance_id, entity_ids)) == len(entity_ids), 20, "the sensors in the mirror")
    return entity_ids


# -- helpers -----------------------------------------------------------------------------


def remove_test_states(peer):
    for state in peer.rest("GET", "/api/states"):
        if state["entity_id"].startswith(PREFIX):
            peer.rest("DELETE", f"/api/states/{state['entity_id']}")


def mirror(server, instance_id, entity_ids):
    """``{entity_id: (state, last_updated)}`` of the mirror, ``last_updated`` naive UTC."""
    rows = server.query(
        "SELECT entity_id, state, last_updated FROM ha_entity WHERE instance_id = %s AND entity_id IN %s",
        (instance_id, tuple(entity_ids)),
    )
    return {entity_id: (state, last_updated) for entity_id, state, last_updated in rows}


def home_assistant(peer, entity_ids):
    """The same view of Home Assistant's current states."""
    wanted = set(entity_ids)
    found = {}
    for state in peer.rest("GET", "/api/states"):
        if state["entity_id"] in wanted:
            moment = datetime.fromisoformat(state["last_updated"]).astimezone(timezone.utc).replace(tzinfo=None)
            found[state["entity_id"]] = (state["state"], moment)
    return found


def differences(expected, actual):
    return {
        entity_id: {"home_assistant": value, "mirror": actual.get(entity_id)}
        for entity_id, value in expected.items()
        if actual.get(entity_id) != value
    }


class Manager:
    """A logged-in admin session pressing *Sync now* over JSON-RPC."""

    def __init__(self, server):
        self.base_url = f"http://127.0.0.1:{server.http_port}"
        self.http = requests.Session()
        self.ids = itertools.count(1)
        result = self.rpc("/web/session/authenticate", {"db": server.dbname, "login": "admin", "password": "admin"})
        assert result and result.get("uid"), result

    def rpc(self, path, params):
        response = self.http.post(
            self.base_url + path,
            json={"jsonrpc": "2.0", "method": "call", "params": params, "id": next(self.ids)},
            timeout=RPC_TIMEOUT,
        )
        response.raise_for_status()
        body = response.json()
        if "error" in body:
            error = body["error"]
            raise RuntimeError(f"{error.get('data', {}).get('name')}: {error.get('data', {}).get('message')}")
        return body["result"]

    def sync_now(self, instance_id):
        return self.rpc(
            "/web/dataset/call_kw/ha.instance/action_sync_now",
            {"model": "ha.instance", "method": "action_sync_now", "args": [[instance_id]], "kwargs": {}},
        )


def burst(peer, targets):
    """POST ``/api/states`` for each entity of ``targets`` in order, at RATE over
    DRIVERS keep-alive connections; returns the number of changes refused."""
    jobs = iter(enumerate(targets))
    lock = threading.Lock()
    refused = []
    started = time.monotonic()
    headers = {"Authorization": f"Bearer {peer.token}", "Content-Type": "application/json"}

    def drive():
        connection = http.client.HTTPConnection("127.0.0.1", peer.port, timeout=30)
        try:
            while True:
                with lock:
                    job = next(jobs, None)
                if job is None:
                    return
                index, entity_id = job
                delay = started + index / RATE - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                body = json.dumps({"state": str(index), "attributes": {"race": index}})
                connection.request("POST", f"/api/states/{entity_id}", body, headers)
                response = connection.getresponse()
                response.read()
                if response.status >= 300:
                    refused.append(response.status)
        finally:
            connection.close()

    threads = [threading.Thread(target=drive, daemon=True) for _ in range(DRIVERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(len(targets) / RATE + 60)
    return len(refused)


def race(server, peer, instance_id, targets):
    """Sync now from SYNC_CLIENTS sessions for as long as the burst lasts.

    Returns ``(durations, errors)`` of the calls started during the burst;
    every call must answer ``True``.
    """
    managers = [Manager(server) for _ in range(SYNC_CLIENTS)]
    # One call before the race: the server process opens its request-side
    # connection to Home Assistant on first use, and this test is about
    # concurrent writes, not about that first handshake.
    assert managers[0].sync_now(instance_id) is True
    bursting = threading.Event()
    bursting.set()
    calls, errors = [], []

    def press(manager):
        for _ in range(MAX_SYNC_CALLS):
            if not bursting.is_set():
                return
            started = time.monotonic()
            try:
                result = manager.sync_now(instance_id)
            except Exception as error:
                result = error
            # Every call counts, even a failed one: it started during the burst.
            calls.append(time.monotonic() - started)
            if result is not True:
                errors.append(repr(result) if isinstance(result, Exception) else f"unexpected answer {result!r}")

    threads = [threading.Thread(target=press, args=(manager,), daemon=True) for manager in managers]
    for thread in threads:
        thread.start()
    try:
        refused = burst(peer, targets)
    finally:
        bursting.clear()
        for thread in threads:
            thread.join(RPC_TIMEOUT * 2)
    assert not refused, f"Home Assistant refused {refused} state changes"
    return calls, errors


def owner_failures(server):
    """What the owner logged when it gave a batch of updates up."""
    text = Path(server.log_path).read_text(errors="replace")
    return [line for line in text.splitlines() if "could not apply updates" in line]


def log_summary(server):
    """How often the server met a conflict, from its log: for the test's output."""
    text = Path(server.log_path).read_text(errors="replace")
    return {
        "request retries": text.count("tries left, try again"),
        "requests out of retries": text.count("maximum number of tries reached"),
        "serialization failures": text.count("could not serialize access"),
        "deadlocks": text.count("deadlock detected"),
        "unique violations": text.count("duplicate key value violates unique constraint"),
    }


def check(server, peer, instance_id, targets, calls, errors):
    entity_ids = sorted(set(targets))
    expected = home_assistant(peer, entity_ids)
    assert len(expected) == len(entity_ids)
    print(
        f"{len(calls)} Sync now calls during the burst, slowest {max(calls, default=0):.2f} s;"
        f" {len(targets)} changes over {len(entity_ids)} entities; server log so far: {log_summary(server)}"
    )
    assert not errors, f"{len(errors)} of {len(calls)} Sync now calls failed: {dict(Counter(errors))}"
    try:
        wait_for(lambda: mirror(server, instance_id, entity_ids) == expected, SETTLE_TIMEOUT, "the mirror equal to HA")
    except TimeoutError:
        diff = differences(expected, mirror(server, instance_id, entity_ids))
        pytest.fail(f"{len(diff)} entities differ from Home Assistant, e.g. {dict(list(diff.items())[:3])}")
    assert not owner_failures(server), owner_failures(server)[:3]


# -- the tests -----------------------------------------------------------------------------


def test_sync_now_during_state_burst(server, beta, instance_id, existing):
    """State changes of existing entities while managers press Sync now."""
    targets = [existing[index % len(existing)] for index in range(CHANGES)]
    calls, errors = race(server, beta, instance_id, targets)
    check(server, beta, instance_id, targets, calls, errors)


def test_sync_now_while_entities_appear(server, beta, instance_id, existing):
    """The same, with new entities appearing during the burst: their rows are
    created by the owner and by the Sync now requests alike."""
    targets = [
        f"{PREFIX}new_{index // NEW_EVERY}" if index % NEW_EVERY == 0 else existing[index % len(existing)]
        for index in range(CHANGES)
    ]
    calls, errors = race(server, beta, instance_id, targets)
    check(server, beta, instance_id, targets, calls, errors)
