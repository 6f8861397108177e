"""A long-lived, self-healing connection to one Home Assistant instance.

Threads
    :meth:`HAClient.start` spawns one daemon worker thread per client. It
    connects, authenticates, reads every frame, sends heartbeats and
    reconnects. Reading must never pause: websocket-client answers Home
    Assistant's WebSocket pings only inside ``recv()``. Any thread may send
    commands; a per-connection lock serializes the sends so ids reach Home
    Assistant in increasing order, as it requires.

Callbacks
    Subscription callbacks, done-callbacks added to the returned futures and
    ``on_state`` run on the worker thread (``on_state`` also runs on the
    caller of :meth:`close` for a client never started). Keep them short:
    nothing is read while they run, and Home Assistant drops a client that
    falls 4096 messages behind. They must not wait for a command result
    (that would deadlock the reader, so it raises ``RuntimeError``); use
    :meth:`call_async` without waiting. Their exceptions are logged and never
    stop the worker.
"""

import dataclasses
import datetime
import logging
import random
import threading
import time

from .commands import WAIT_ON_READER, CallFuture, Subscription, encode, service_message, settle
from .connection import Connection
from .errors import HAAuthInvalid, HACommandError, HAError, HATimeout, HAUnavailable, HAUnreachable
from .transport import DEFAULT_MAX_FRAME_SIZE, open_connection
from .urls import base_url

_LOGGER = logging.getLogger(__name__)

# A connection that lived this long was healthy: after it drops, the
# backoff starts again from its first, short step.
STABLE_CONNECTION = 10.0
_COALESCE = {"type": "supported_features", "features": {"coalesce_messages": 1}}
_TRAFFIC = ("frames_received", "messages_received", "bytes_received")


class State:
    """The connection states: plain strings, to be stored as they are."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    DISCONNECTED = "disconnected"  # retrying: Home Assistant unreachable or the link dropped
    AUTH_FAILED = "auth_failed"  # not retrying until update_credentials() changes something
    ERROR = "error"  # retrying: something else than Home Assistant answered, or it broke the protocol
    CLOSED = "closed"


@dataclasses.dataclass(frozen=True)
class Status:
    """A consistent snapshot of the connection, as given to ``on_state``."""

    state: str
    since: datetime.datetime  # UTC, of the last state change
    ha_version: str | None  # of the last successful connection
    last_error: str | None  # kept after a reconnection, to explain the last drop


def backoff_delay(attempt, first=1.0, cap=30.0):
    """Seconds before retry number ``attempt`` (0-based): doubling, jittered, capped.

    The jitter keeps many clients from reconnecting in lockstep after Home
    Assistant restarts; each delay lies in ``[d/2, d]`` with
    ``d = min(cap, first * 2**attempt)``.
    """
    delay = min(cap, first * 2 ** min(attempt, 32))
    return delay / 2 + random.random() * delay / 2


class HAClient:
    """Client of one Home Assistant instance; see the module doc for threads."""

    def __init__(
        self,
        url,
        token,
        *,
        name=None,
        on_state=None,
        timeout=30.0,
        connect_timeout=10.0,
        ping_interval=10.0,
        pong_timeout=10.0,
        backoff_first=1.0,
        backoff_max=30.0,
        max_frame_size=DEFAULT_MAX_FRAME_SIZE,
        verify_ssl=True,
    ):
        self._url = base_url(url)
        self._token = token
        self.name = name or self._url
        self.timeout = timeout
        self.connect_timeout = connect_timeout
        self.ping_interval = ping_interval
        self.pong_timeout = pong_timeout
        self.backoff_first = backoff_first
        self.backoff_max = backoff_max
        self.max_frame_size = max_frame_size
        self.verify_ssl = verify_ssl
        self._on_state = on_state
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._state = State.DISCONNECTED
        self._since = _now()
        self._ha_version = None
        self._last_error = None
        self._connection = None
        self._subscriptions = []
        # Bumped by update_credentials() and reconnect(): the worker drops
        # what it is doing and starts over at once.
        self._generation = 0
        self._failed_generation = None
        self._failed_attempts = 0
        self._closing = False
        self._thread = None
        # Traffic of finished connections; the live one keeps its own counters.
        self._stats = dict.fromkeys(("connect_attempts", "connections", *_TRAFFIC), 0)

    def __repr__(self):
        return f"<HAClient {self.name} {self._url} {self._state}>"

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info):
        self.close()

    # -- state ------------------------------------------------------------

    @property
    def url(self):
        return self._url

    @property
    def state(self):
        return self._state

    @property
    def since(self):
        return self._since

    @property
    def ha_version(self):
        return self._ha_version

    @property
    def last_error(self):
        return self._last_error

    @property
    def connected(self):
        """Whether commands can be sent now (the state may lag a moment behind a drop)."""
        return self._live_connection() is not None

    @property
    def status(self):
        with self._lock:
            return self._status()

    @property
    def stats(self):
        """Counters for diagnostics; ``messages_received > frames_received`` shows coalescing."""
        with self._lock:
            stats, connection = dict(self._stats), self._connection
        if connection is not None:
            for key in _TRAFFIC:
                stats[key] += getattr(connection, key)
        return stats

    # -- lifecycle --------------------------------------------------------

    def start(self):
        """Start the worker thread; returns ``self``."""
        with self._lock:
            if self._closing:
                raise RuntimeError("a closed HAClient cannot be started again")
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=f"ha-client {self.name}", daemon=True)
                self._thread.start()
        return self

    def close(self, timeout=10.0):
        """Disconnect for good: pending calls fail with ``ha_unavailable``."""
        with self._lock:
            already = self._closing
            self._closing = True
            connection, thread = self._connection, self._thread
            for sub in self._subscriptions:
                sub.active = False
            self._subscriptions.clear()
            self._changed.notify_all()
        if connection is not None:
            connection.abort("the client was closed")
        if thread is None:
            if not already:
                self._set_state(State.CLOSED)
        elif thread is not threading.current_thread():
            # A connection attempt in progress is not interruptible: it ends
            # within connect_timeout.
            thread.join(timeout)

    def update_credentials(self, url, token):
        """Use a new URL or token; reconnects at once if either changed.

        Also the only way out of ``auth_failed``. Returns whether anything changed.
        """
        url = base_url(url)
        with self._lock:
            if (url, token) == (self._url, self._token):
                return False
            self._url, self._token = url, token
            self._generation += 1
            connection = self._connection
            self._changed.notify_all()
        if connection is not None:
            connection.abort("the URL or token changed")
        return True

    def reconnect(self):
        """Drop the current connection (its pending calls fail) and reconnect now."""
        with self._lock:
            self._generation += 1
            connection = self._connection
            self._changed.notify_all()
        if connection is not None:
            connection.abort("reconnection requested")

    def wait_connected(self, timeout, *, first_attempt=False):
        """Wait until connected; ``False`` on timeout, ``auth_failed`` or close.

        With ``first_attempt``, also give up as soon as a connection attempt
        fails: a caller that must answer fast does not wait for the retries.
        """

        def live():
            # Not the state: it lags behind reconnect() until the worker notices the drop.
            return self._connection is not None and not self._connection.closed

        def settled():
            return (
                live()
                or self._closing
                or (self._state == State.AUTH_FAILED and self._failed_generation == self._generation)
                or (first_attempt and self._failed_attempts > failures)
            )

        with self._changed:
            failures = self._failed_attempts
            self._changed.wait_for(settled, timeout)
            return live()

    # -- commands ---------------------------------------------------------

    def call(self, msg_type, /, timeout=None, **payload):
        """Send a command and return its result; raises an :class:`HAError`.

        For a command whose payload has a ``timeout`` field, use
        ``call_async(...).result(timeout)``.
        """
        return self.call_async(msg_type, **payload).result(self._timeout(timeout))

    def call_async(self, msg_type, /, **payload):
        """Send a command; the future fails at once with ``ha_unavailable`` if disconnected."""
        return self._command(encode({**payload, "type": msg_type}))

    def call_many(self, messages, timeout=None):
        """Send every command, then wait for all of them, within ``timeout`` in total.

        Returns, in order, each command's result or the :class:`HAError` it
        failed with; pipelining makes a batch of 100 ``call_service`` cost
        little more than one round trip.
        """
        self._check_not_worker()
        encoded = [encode(message) for message in messages]
        connection = self._live_connection()
        if connection is None:
            return [HAUnavailable(self._unavailable_reason()) for _ in encoded]
        futures = connection.send(encoded)
        deadline = time.monotonic() + self._timeout(timeout)
        results = []
        for future in futures:
            try:
                results.append(future.result(max(deadline - time.monotonic(), 0.0)))
            except HAError as err:
                results.append(err)
        return results

    def call_service(self, domain, service, service_data=None, target=None, return_response=False, timeout=None):
        """Call a service; returns Home Assistant's result: ``{"context", "response"?}``."""
        message = service_message(domain, service, service_data, target, return_response)
        return self._command(encode(message)).result(self._timeout(timeout))

    def subscribe(self, message, callback, timeout=None, resubscribe=True):
        """Send a subscribing command and call ``callback(event)`` for each of its events.

        Works for ``subscribe_events``, ``subscribe_entities``,
        ``subscribe_trigger``, ``system_health/info``... Returns a
        :class:`Subscription` once Home Assistant accepted it; events may
        reach the callback before that. Unless ``resubscribe`` is false, it
        is sent again after every reconnection, with the same callback.
        """
        self._check_not_worker()
        sub = Subscription(self, dict(message), callback, resubscribe)
        connection = self._live_connection()
        if connection is None:
            raise HAUnavailable(self._unavailable_reason())
        with self._lock:
            self._subscriptions.append(sub)
        try:
            connection.send([sub.encoded], sub)[0].result(self._timeout(timeout))
        except BaseException:
            sub.unsubscribe()
            raise
        return sub

    def subscribe_events(self, callback, event_type=None, timeout=None):
        message = {"type": "subscribe_events"}
        if event_type:
            message["event_type"] = event_type
        return self.subscribe(message, callback, timeout)

    # -- helpers of the calling threads ------------------------------------

    def _timeout(self, timeout):
        return self.timeout if timeout is None else timeout

    def _check_not_worker(self):
        if threading.current_thread() is self._thread:
            raise RuntimeError(WAIT_ON_READER)

    def _live_connection(self):
        with self._lock:
            connection = self._connection
        return None if connection is None or connection.closed else connection

    def _unavailable_reason(self):
        if self._closing:
            return "the Home Assistant client is closed"
        reason = f"not connected to Home Assistant (state: {self._state})"
        return f"{reason}: {self._last_error}" if self._last_error else reason

    def _command(self, encoded):
        connection = self._live_connection()
        if connection is None:
            future = CallFuture(encoded[0])
            settle(future, exc=HAUnavailable(self._unavailable_reason()))
            return future
        return connection.send([encoded])[0]

    def _unsubscribe(self, sub):
        with self._lock:
            if not sub.active:
                return
            sub.active = False
            if sub in self._subscriptions:
                self._subscriptions.remove(sub)
            connection, sub.id = self._connection, None
        if connection is not None:
            connection.unsubscribe(sub)

    # -- worker thread ----------------------------------------------------

    def _run(self):
        attempt = 0
        while not self._closing:
            with self._lock:
                generation, url, token = self._generation, self._url, self._token
            try:
                attempt = self._connect_and_serve(generation, url, token, attempt)
            except Exception as err:
                # A bug here must not end the reconnection loop for good.
                _LOGGER.exception("Home Assistant client %s: unexpected error", self.name)
                self._set_state(State.ERROR, f"internal error: {err!r}")
                attempt = self._backoff(generation, attempt)
        self._set_state(State.CLOSED)

    def _connect_and_serve(self, generation, url, token, attempt):
        """One connection attempt and, if it succeeds, its whole life; returns the next attempt number."""
        self._stats["connect_attempts"] += 1
        self._set_state(State.CONNECTING)
        try:
            ws, ha_version = open_connection(url, token, self.connect_timeout, self.max_frame_size, self.verify_ssl)
        except HAAuthInvalid as err:
            with self._lock:
                self._failed_generation = generation
            self._set_state(State.AUTH_FAILED, str(err))
            self._wait(generation, None)
            return 0
        except HAError as err:
            unreachable = isinstance(err, (HAUnreachable, HATimeout))
            with self._lock:
                self._failed_attempts += 1
            self._set_state(State.DISCONNECTED if unreachable else State.ERROR, str(err))
            return self._backoff(generation, attempt)
        connection = Connection(ws, ha_version)
        started = time.monotonic()
        try:
            outcome = self._serve(connection, generation)
        finally:
            connection.abort("connection closed")
            ws.shutdown()
            with self._lock:
                if self._connection is connection:
                    self._connection = None
                for sub in [s for s in self._subscriptions if not s.resubscribe]:
                    sub.active = False
                    self._subscriptions.remove(sub)
                for key in _TRAFFIC:
                    self._stats[key] += getattr(connection, key)
        if outcome is None or self._closing:
            return 0
        requested = self._generation != generation  # by reconnect() or update_credentials()
        self._set_state(State.ERROR if outcome else State.DISCONNECTED, connection.reason, quiet=requested)
        if time.monotonic() - started >= STABLE_CONNECTION:
            attempt = 0
        return self._backoff(generation, attempt)

    def _serve(self, connection, generation):
        """Go live and read until the link drops; returns whether it was Home Assistant's fault."""
        # Sent before the connection is published, so they precede any caller's command.
        connection.send([encode(_COALESCE)])
        with self._lock:
            subscriptions = list(self._subscriptions)
        for sub in subscriptions:
            connection.send([sub.encoded], sub)[0].add_done_callback(_log_resubscribe_failure)
        with self._lock:
            if self._closing or generation != self._generation:
                return None  # credentials changed while connecting: start over
            self._connection = connection
        for sub in subscriptions:
            if not sub.active:  # unsubscribed while this connection was not published yet
                connection.unsubscribe(sub)
        self._stats["connections"] += 1
        self._set_state(State.CONNECTED, ha_version=connection.ha_version)
        _LOGGER.info(
            "Home Assistant client %s: connected to Home Assistant %s at %s",
            self.name,
            connection.ha_version,
            self._url,
        )
        reason, fault = connection.read(self.ping_interval, self.pong_timeout)
        connection.abort(reason)
        return fault

    def _wait(self, generation, timeout):
        with self._changed:
            self._changed.wait_for(lambda: self._closing or self._generation != generation, timeout)

    def _backoff(self, generation, attempt):
        """Sleep before the next attempt, unless closed or told to reconnect now."""
        self._wait(generation, backoff_delay(attempt, self.backoff_first, self.backoff_max))
        with self._lock:
            return 0 if self._generation != generation else attempt + 1

    def _set_state(self, state, error=None, ha_version=None, quiet=False):
        with self._lock:
            self._state = state
            self._since = _now()
            if ha_version:
                self._ha_version = ha_version
            if error and self._token:
                # Defensive: no exception text should ever hold the token.
                error = error.replace(self._token, "***")
            repeated = error is not None and error == self._last_error
            if error:
                self._last_error = error
            status = self._status()
            self._changed.notify_all()
        if error:
            # Retrying against a peer that stays down repeats the same error: log it once.
            log = _LOGGER.info if quiet else _LOGGER.debug if repeated else _LOGGER.warning
            log("Home Assistant client %s: %s: %s", self.name, state, error)
        if self._on_state is not None:
            try:
                self._on_state(status)
            except Exception:
                _LOGGER.exception("on_state callback of Home Assistant client %s failed", self.name)

    def _status(self):
        return Status(self._state, self._since, self._ha_version, self._last_error)


def _log_resubscribe_failure(future):
    # A drop during resubscription shows in the connection state already.
    if not future.cancelled() and isinstance(future.exception(), HACommandError):
        _LOGGER.warning("Resubscribing to Home Assistant %s failed: %s", future.msg_type, future.exception())


def _now():
    return datetime.datetime.now(datetime.timezone.utc)
