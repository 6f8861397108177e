"""Prefork mode: exactly one realtime connection per instance across all processes.

Odoo runs as a real separate server (``workers=2``, a cron worker, the gevent
worker and the addon's realtime worker) against the real peers.
"""

import json
import os
import signal
import time
import urllib.request
from pathlib import Path

import pytest

from .common import OdooServer, harness, wait_for

DB = "odoo_ha_test_prefork"


@pytest.fixture(scope="session")
def peers():
    return harness().ensure_up("test")


@pytest.fixture(scope="session")
def odoo_conf():
    conf = os.environ.get("ODOO_HA_TEST_CONF")
    if not conf:
        pytest.fail("ODOO_HA_TEST_CONF is not set: run the tests with scripts/test.sh")
    return conf


@pytest.fixture(scope="module")
def server(peers, odoo_conf, tmp_path_factory):
    peers_file = Path(os.environ.get("HA_TEST_PEERS") or Path.home() / ".cache/odoo_ha_addon/peers/test.json")
    log_path = tmp_path_factory.mktemp("prefork") / "odoo.log"
    odoo = OdooServer(
        odoo_conf,
        DB,
        peers_file,
        ["--workers=2", "--max-cron-threads=1", "--limit-request=5", "--gevent-port=0"],
        log_path,
    )
    odoo.create_database()
    odoo.start()
    yield odoo
    odoo.stop()
    print(f"prefork server log: {log_path}")


def states(server):
    return dict(server.query("SELECT name, connection_state FROM ha_instance"))


def one_owner(server, peers):
    """The pid holding the single connection to every peer, else None."""
    owners = set()
    for peer in peers:
        connections = server.ha_connections(peer.port)
        if sum(connections.values()) != 1:
            return None
        owners |= set(connections)
    return owners.pop() if len(owners) == 1 else None


def test_one_realtime_connection_per_instance(server, peers):
    wait_for(lambda: set(states(server).values()) == {"connected"}, 60, "both instances connected")
    print(f"HA connections up {time.monotonic() - server.started:.1f} s after Odoo started")
    owner = wait_for(lambda: one_owner(server, peers), 10, "a single owner process")
    time.sleep(3)  # a few more refreshes of every process
    assert one_owner(server, peers) == owner
    assert owner != server.process.pid, "the master never owns connections"


def test_owner_survives_http_worker_recycling(server, peers):
    owner = wait_for(lambda: one_owner(server, peers), 60, "a single owner process")
    before = server.pids()
    url = f"http://127.0.0.1:{server.http_port}/web/webclient/version_info"
    body = json.dumps({"jsonrpc": "2.0", "method": "call", "params": {}}).encode()
    for _ in range(20):  # limit_request=5: every HTTP worker is recycled
        request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    wait_for(lambda: server.pids() - before, 20, "recycled HTTP workers")
    assert one_owner(server, peers) == owner


def test_killed_owner_is_replaced_and_events_flow(server, peers):
    owner = wait_for(lambda: one_owner(server, peers), 60, "a single owner process")
    os.kill(owner, signal.SIGKILL)
    killed = time.monotonic()
    new_owner = wait_for(lambda: (pid := one_owner(server, peers)) and pid != owner and pid, 30, "a new owner process")
    print(f"new owner {new_owner} {time.monotonic() - killed:.1f} s after the old one was killed")
    peer = peers[0]
    before = peer.rest("GET", "/api/states/light.bed_light")["state"]
    expected = "off" if before == "on" else "on"
    peer.rest("POST", "/api/services/light/toggle", json={"entity_id": "light.bed_light"})

    def mirrored():
        rows = server.query(
            "SELECT e.state FROM ha_entity e JOIN ha_instance i ON i.id = e.instance_id"
            " WHERE i.api_url = %s AND e.entity_id = 'light.bed_light'",
            (peer.url,),
        )
        return rows and rows[0][0] == expected

    wait_for(mirrored, 30, "the new owner's events in the mirror")


def test_clean_stop(server, peers):
    wait_for(lambda: one_owner(server, peers), 60, "a single owner process")
    pids = server.pids()
    server.process.send_signal(signal.SIGTERM)
    server.process.wait(60)
    time.sleep(1)
    assert not [pid for pid in pids if os.path.exists(f"/proc/{pid}") and _not_zombie(pid)]
    assert set(states(server).values()) == {"disconnected"}


def _not_zombie(pid):
    try:
        return " Z " not in open(f"/proc/{pid}/stat").read()
    except FileNotFoundError:
        return False
