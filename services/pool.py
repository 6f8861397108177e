"""Per-process Home Assistant connections for request/response calls.

An HTTP worker calls Home Assistant directly over one authenticated
WebSocket per instance, multiplexed by message id: no database queue, no
commit in the middle of a request. The client reconnects by itself with
backoff; while it is not connected every call fails at once with
``ha_unavailable`` instead of waiting for a timeout, which is the circuit
breaker the routes rely on.
"""

import os
import threading

from ..ha_client import HAClient

# The first call of a process waits this long for the handshake (a failed
# attempt ends the wait at once); later calls never wait for a connection.
FIRST_CONNECT_WAIT = 5.0

_lock = threading.Lock()
_clients = {}
# Set once a client's first connection attempt is over: concurrent first
# callers all wait for it instead of failing on a client still connecting.
_first_attempts = {}


def get_client(dbname, instance_id, url, token):
    """The process's client of an instance, connected if Home Assistant is up."""
    key = (dbname, instance_id)
    with _lock:
        client = _clients.get(key)
        created = client is None
        if created:
            client = HAClient(url, token, name=f"{dbname}/{instance_id}")
            _clients[key] = client
            _first_attempts[key] = threading.Event()
        first_attempt = _first_attempts[key]
    if created:
        client.start()
        client.wait_connected(FIRST_CONNECT_WAIT, first_attempt=True)
        first_attempt.set()
    elif client.update_credentials(url, token):
        client.wait_connected(FIRST_CONNECT_WAIT, first_attempt=True)
    else:
        first_attempt.wait(FIRST_CONNECT_WAIT)
    return client


def reconnect(dbname, instance_id):
    """Reconnect now; the next call finds the new connection, not a gap."""
    with _lock:
        client = _clients.get((dbname, instance_id))
    if client is not None:
        client.reconnect()
        client.wait_connected(FIRST_CONNECT_WAIT, first_attempt=True)


def discard(dbname, instance_id):
    """Close the process's client of an instance that was archived or deleted."""
    with _lock:
        client = _clients.pop((dbname, instance_id), None)
        _first_attempts.pop((dbname, instance_id), None)
    if client is not None:
        client.close(timeout=0)


def close_all():
    with _lock:
        clients = list(_clients.values())
        _clients.clear()
        _first_attempts.clear()
    for client in clients:
        client.close(timeout=1)


def _forget_after_fork():
    # A forked worker must not share its parent's sockets and threads.
    global _lock
    _lock = threading.Lock()
    _clients.clear()
    _first_attempts.clear()


os.register_at_fork(after_in_child=_forget_after_fork)
