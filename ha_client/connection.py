"""One authenticated WebSocket connection: sending, reading, heartbeat.

A :class:`Connection` lives from ``auth_ok`` until the link drops; the
client then replaces it with a new one. Its pending commands die with it,
failing at once with ``ha_unavailable``.
"""

import json
import logging
import threading
import time

import websocket

from .commands import CallFuture, encode, frame, settle
from .errors import HACommandError, HAUnavailable
from .transport import FrameTooLarge

_LOGGER = logging.getLogger(__name__)


class Connection:
    """Created on, and read by, the client's worker thread; sent to from any thread."""

    def __init__(self, ws, ha_version):
        self.ws = ws
        self.ha_version = ha_version
        self.reader = threading.current_thread()
        self.send_lock = threading.Lock()
        self.next_id = 1  # guarded by send_lock
        self._lock = threading.Lock()
        self.pending = {}  # id -> CallFuture, guarded by _lock
        self.subs = {}  # id -> Subscription, guarded by _lock
        self.closed = False
        self.reason = None  # why it closed: the first reason wins
        self.frames_received = 0
        self.messages_received = 0
        self.bytes_received = 0

    # -- any thread -------------------------------------------------------

    def send(self, encoded_messages, sub=None):
        """Send encoded commands in order; returns one :class:`CallFuture` each.

        Ids are taken under the send lock, so they reach Home Assistant in
        increasing order, which it requires. With ``sub``, the (single)
        command subscribes it: its events are routed from now on.
        """
        futures = []
        with self.send_lock:
            for encoded in encoded_messages:
                future = CallFuture(encoded[0], self.reader)
                futures.append(future)
                with self._lock:
                    if self.closed:
                        failure = f"Home Assistant connection lost: {self.reason}"
                    elif sub is not None and not sub.active:
                        failure = "the subscription was cancelled"
                    else:
                        failure = None
                        msg_id = future.id = self.next_id
                        self.next_id += 1
                        future.connection = self
                        self.pending[msg_id] = future
                        if sub is not None:
                            self.subs[msg_id] = sub
                            sub.id = msg_id
                if failure is not None:
                    settle(future, exc=HAUnavailable(failure))
                    continue
                try:
                    self.ws.send(frame(msg_id, encoded))
                except (OSError, websocket.WebSocketException) as err:
                    self.abort(f"sending failed: {err}")
        return futures

    def forget(self, future):
        """Drop a command that timed out, so its late answer is ignored."""
        with self._lock:
            if self.pending.get(future.id) is future:
                del self.pending[future.id]

    def unsubscribe(self, sub):
        """Stop routing a subscription's events and tell Home Assistant, without waiting."""
        with self._lock:
            ids = [msg_id for msg_id, routed in self.subs.items() if routed is sub]
            for msg_id in ids:
                del self.subs[msg_id]
            if self.closed:
                return
        for msg_id in ids:
            self.send([encode({"type": "unsubscribe_events", "subscription": msg_id})])

    def abort(self, reason):
        """Close from any thread: fail the pending commands, wake the reader."""
        with self._lock:
            if self.closed:
                return
            self.closed = True
            self.reason = reason
            pending = list(self.pending.values())
            self.pending.clear()
        for future in pending:
            settle(future, exc=HAUnavailable(f"Home Assistant connection lost: {reason}"))
        self.ws.abort()

    # -- reader thread ----------------------------------------------------

    def read(self, ping_interval, pong_timeout):
        """Read until the link drops; returns ``(reason, fault)``.

        ``fault`` is true when Home Assistant broke the protocol or a limit
        rather than the network failing. The socket timeout is a fraction of
        the heartbeat periods, so the loop wakes up to ping a link silent
        for ``ping_interval``, and gives it up if no byte comes back within
        ``pong_timeout``. The same timeout bounds sends: one stalled that
        long drops the link.
        """
        ws = self.ws
        ws.settimeout(min(ping_interval, pong_timeout) / 4)
        ping_sent = None
        while not self.closed:
            try:
                opcode, data = ws.recv_data(control_frame=True)
            except websocket.WebSocketTimeoutException:
                now, last_arrival = time.monotonic(), ws.frame_buffer.last_arrival
                if ping_sent is not None and last_arrival > ping_sent:
                    ping_sent = None  # anything received proves the peer alive, not only a pong
                if ping_sent is None and now - last_arrival >= ping_interval:
                    ping_sent = now
                    self.send([encode({"type": "ping"})])
                elif ping_sent is not None and now - ping_sent >= pong_timeout:
                    return f"no answer to a ping within {pong_timeout:g} s", False
                continue
            except FrameTooLarge as err:
                return str(err), True
            except websocket.WebSocketConnectionClosedException:
                return "Home Assistant closed the connection", False
            except (OSError, websocket.WebSocketException) as err:
                return f"connection lost: {err}", False
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                return "Home Assistant closed the connection", False
            if opcode == websocket.ABNF.OPCODE_TEXT:
                try:
                    self._handle_frame(data)
                except ValueError:
                    return "Home Assistant sent a message that is not JSON", True
        return self.reason, False

    def _handle_frame(self, data):
        payload = json.loads(data)
        # With coalesce_messages, Home Assistant may pack several messages into one array.
        messages = payload if isinstance(payload, list) else [payload]
        self.frames_received += 1
        self.messages_received += len(messages)
        self.bytes_received += len(data)
        for message in messages:
            if isinstance(message, dict):
                self._dispatch(message)

    def _dispatch(self, message):
        kind, msg_id = message.get("type"), message.get("id")
        if kind == "event":
            with self._lock:
                sub = self.subs.get(msg_id)
            # Checked again here: unsubscribe() may run while events are queued.
            if sub is not None and sub.active:
                sub.deliver(message.get("event"))
            return
        if kind not in ("result", "pong"):
            _LOGGER.debug("Ignoring Home Assistant message of type %r", kind)
            return
        with self._lock:
            future = self.pending.pop(msg_id, None)
        if future is None:
            return  # the answer to a command that timed out
        if kind == "pong" or message.get("success"):
            settle(future, message.get("result"))
            return
        error = message.get("error") or {}
        settle(
            future,
            exc=HACommandError(
                error.get("code") or "unknown_error",
                error.get("message") or "Home Assistant reported an error",
                error.get("translation_domain"),
                error.get("translation_key"),
                error.get("translation_placeholders"),
            ),
        )
