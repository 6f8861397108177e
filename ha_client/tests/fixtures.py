"""Fixtures of the client tests: the real Home Assistant peers, and clients.

Test modules load this plugin with ``pytest_plugins`` rather than through a
``conftest.py``: pytest imports the conftest.py of a directory given on its
command line before pytest-odoo installs the ``odoo.addons.`` module naming,
and importing the addon under another name fails.

The peers are the ``test`` profile of ``tools/ha_peers.py``: two Home
Assistant 2025.4.4 demo instances on 127.0.0.1:18123 and 18124, shared with
the addon's tests. ``scripts/test.sh`` starts them and exports
``HA_TEST_PEERS``; otherwise they are started here (about a minute the first
time).
"""

import importlib.util
import os
from pathlib import Path

import pytest

from .. import HAClient

REPOSITORY = Path(__file__).resolve().parents[2]


def _load_harness():
    spec = importlib.util.spec_from_file_location("ha_client_tests_peers", REPOSITORY / "tools" / "ha_peers.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def peers():
    harness = _load_harness()
    state_file = os.environ.get("HA_TEST_PEERS")
    if state_file and Path(state_file).is_file():
        found = harness.load_peers("test")
        if all(peer.is_running() for peer in found):
            return found
    return harness.ensure_up("test")


@pytest.fixture
def peer(peers):
    return peers[0]


@pytest.fixture
def peer_b(peers):
    """The peer the restart tests stop and start again."""
    return peers[1]


@pytest.fixture
def make_client():
    """``make_client(url, token, **options)``: a started client, closed after the test."""
    clients = []

    def make(url, token, **options):
        client = HAClient(url, token, **options)
        clients.append(client)
        return client.start()

    yield make
    for client in clients:
        client.close()


@pytest.fixture
def client(make_client, peer):
    """A client connected to the first peer."""
    client = make_client(peer.url, peer.token, name="test")
    assert client.wait_connected(30), client.last_error
    return client
