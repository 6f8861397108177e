"""The client survives Home Assistant going away: stopped, killed or frozen.

These tests stop the second test peer. The peers are shared with the
addon's tests, so each test starts it again whatever happens.
"""

import contextlib
import os
import signal
import time

from .. import State
from .helpers import Recorder, changed, wait_until

pytest_plugins = [f"{__package__}.fixtures"]  # not a conftest.py: fixtures.py says why

LIGHT = "light.office_rgbw_lights"
# With the default heartbeat (ping after 10 s of silence, dead 10 s later)
# a dead peer is noticed within 30 s.
HEARTBEAT_BOUND = 30
MARGIN = 5


@contextlib.contextmanager
def restarted(peer):
    """Give the peer back running, whatever happens in the block."""
    try:
        yield
    finally:
        peer.start()


def connected_client(make_client, peer, **options):
    # A short backoff cap: the client retries often while the peer restarts.
    client = make_client(peer.url, peer.token, backoff_max=2, **options)
    assert client.wait_connected(30), client.last_error
    return client


def test_sigterm_restart_reconnects_and_resubscribes(make_client, peer_b):
    client = connected_client(make_client, peer_b)
    events = Recorder()
    sub = client.subscribe_events(events, "state_changed")
    with restarted(peer_b):
        assert peer_b.stop(signal.SIGTERM)
        assert wait_until(lambda: not client.connected, 10)
        assert client.state != State.CONNECTED
    assert client.wait_connected(60), client.last_error
    assert client.stats["connections"] >= 2 and sub.active
    client.call_service("light", "toggle", target={"entity_id": LIGHT})
    assert wait_until(lambda: events.matching(changed(LIGHT)), 10)


def test_sigkill_is_noticed_within_the_heartbeat_bound(make_client, peer_b):
    client = connected_client(make_client, peer_b)
    with restarted(peer_b):
        killed = time.monotonic()
        assert peer_b.kill()
        assert wait_until(lambda: client.state != State.CONNECTED, HEARTBEAT_BOUND + MARGIN)
        assert time.monotonic() - killed <= HEARTBEAT_BOUND + MARGIN
        assert not client.connected
    assert client.wait_connected(60), client.last_error
    assert client.call("ping") is None


def test_frozen_peer_is_noticed_by_the_heartbeat(make_client, peer_b):
    # A stopped (SIGSTOP) process keeps its TCP connections open: only the
    # heartbeat can tell. Short heartbeat periods keep the test quick.
    client = connected_client(make_client, peer_b, ping_interval=1, pong_timeout=1)
    pid = peer_b.pid
    os.kill(pid, signal.SIGSTOP)
    try:
        frozen = time.monotonic()
        assert wait_until(lambda: client.state != State.CONNECTED, 10)
        assert time.monotonic() - frozen <= 1 + 1 + MARGIN
        assert "no answer to a ping" in client.last_error
    finally:
        os.kill(pid, signal.SIGCONT)
    assert client.wait_connected(60), client.last_error
