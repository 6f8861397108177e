"""Opening an authenticated WebSocket to Home Assistant, and the connection test.

The long-lived :class:`~.client.HAClient` and the one-shot :func:`probe`
share the handshake and the mapping of low-level failures onto the
:class:`~.errors.HAProbeError` kinds.
"""

import json
import ssl
import time

import websocket

from .errors import HAAuthInvalid, HAError, HANotHomeAssistant, HAProbeError, HAProbeTimeout, HAUnreachable
from .urls import websocket_url

DEFAULT_MAX_FRAME_SIZE = 64 * 1024 * 1024


class FrameTooLarge(Exception):
    """A received message is over the configured size limit."""

    def __init__(self, size, limit):
        super().__init__(f"Home Assistant sent a message of {size} bytes, over the {limit} bytes limit")


class _GuardedFrameBuffer(websocket.frame_buffer):
    """Frame reading with a size limit and a note of when bytes last arrived.

    websocket-client would otherwise allocate whatever length a frame header
    announces; fragments of one message count together. The arrival time
    lets the heartbeat count a big message still arriving as a sign of life.
    """

    def __init__(self, recv_fn, limit):
        super().__init__(self._recv_noting_arrival, skip_utf8_validation=True)
        self._recv_fn = recv_fn
        self.limit = limit
        self._message_size = 0
        self.last_arrival = time.monotonic()

    def _recv_noting_arrival(self, bufsize):
        data = self._recv_fn(bufsize)
        self.last_arrival = time.monotonic()
        return data

    def recv_length(self):
        super().recv_length()
        fin, _rsv1, _rsv2, _rsv3, opcode = self.header[:5]
        if opcode & 0x8:  # control frames are at most 125 bytes by protocol
            return
        size = self.length + (self._message_size if opcode == websocket.ABNF.OPCODE_CONT else 0)
        if size > self.limit:
            raise FrameTooLarge(size, self.limit)
        self._message_size = 0 if fin else size


class HAWebSocket(websocket.WebSocket):
    """websocket-client's socket with a frame size limit.

    UTF-8 validation is skipped because it is pure Python and about 30 times
    slower than the JSON parsing that follows (which rejects bad text anyway).
    """

    def __init__(self, max_frame_size=DEFAULT_MAX_FRAME_SIZE, **kwargs):
        super().__init__(skip_utf8_validation=True, enable_multithread=True, **kwargs)
        self.frame_buffer = _GuardedFrameBuffer(self.frame_buffer.recv, max_frame_size)


def ssl_context(verify_ssl):
    """The system's trusted CAs; or, for a self-signed Home Assistant, no verification at all."""
    context = ssl.create_default_context()
    if not verify_ssl:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def recv_json(ws, deadline):
    """The next text message as JSON, waiting until ``deadline`` (monotonic)."""
    while True:
        ws.settimeout(max(deadline - time.monotonic(), 0.001))
        opcode, data = ws.recv_data()
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise websocket.WebSocketConnectionClosedException("closed by the server")
        if opcode == websocket.ABNF.OPCODE_TEXT:
            return json.loads(data)


def send_json(ws, message):
    ws.send(json.dumps(message, separators=(",", ":")))


def open_connection(url, token, timeout=10.0, max_frame_size=DEFAULT_MAX_FRAME_SIZE, verify_ssl=True):
    """Connect and authenticate; return ``(ws, ha_version)``.

    The whole handshake (TCP, HTTP upgrade, ``auth_required`` -> ``auth`` ->
    ``auth_ok``) is bounded by ``timeout`` seconds, except name resolution,
    which the system resolver bounds. Raises :class:`HAUnreachable`,
    :class:`HANotHomeAssistant`, :class:`HAAuthInvalid` or :class:`HAProbeTimeout`.
    """
    ws_url = websocket_url(url)
    deadline = time.monotonic() + timeout
    ws = HAWebSocket(max_frame_size, sslopt={"context": ssl_context(verify_ssl)})
    try:
        ws.connect(ws_url, timeout=timeout)
        return ws, _authenticate(ws, token, deadline)
    except HAError:
        ws.shutdown()
        raise
    except (OSError, ValueError, websocket.WebSocketException, FrameTooLarge) as err:
        # ValueError: the answer was not JSON.
        ws.shutdown()
        raise classify(err, url, timeout) from err


def probe(url, token, timeout=10.0, verify_ssl=True):
    """Test a URL and token with a real handshake, for the "Test connection" button.

    Returns ``{"ha_version", "location_name", "time_zone"}`` (the last two
    from ``get_config``). Everything, handshake included, takes at most
    ``timeout`` seconds. Raises an :class:`HAProbeError` whose ``code`` is
    ``unreachable``, ``auth_invalid``, ``not_home_assistant`` or ``timeout``
    (``ha_error`` if Home Assistant refuses ``get_config``).
    """
    deadline = time.monotonic() + timeout
    ws, ha_version = open_connection(url, token, timeout, verify_ssl=verify_ssl)
    try:
        send_json(ws, {"id": 1, "type": "get_config"})
        answer = None
        while not (isinstance(answer, dict) and answer.get("id") == 1 and answer.get("type") == "result"):
            answer = recv_json(ws, deadline)
    except (OSError, ValueError, websocket.WebSocketException, FrameTooLarge) as err:
        raise classify(err, url, timeout) from err
    finally:
        ws.shutdown()
    if not answer.get("success"):
        detail = (answer.get("error") or {}).get("message") or "get_config failed"
        raise HAProbeError(f"{url}: Home Assistant refused get_config: {detail}", detail)
    config = answer.get("result") or {}
    return {
        "ha_version": ha_version or config.get("version"),
        "location_name": config.get("location_name"),
        "time_zone": config.get("time_zone"),
    }


def _authenticate(ws, token, deadline):
    hello = recv_json(ws, deadline)
    if not isinstance(hello, dict) or hello.get("type") != "auth_required":
        detail = "its WebSocket did not start with auth_required"
        raise HANotHomeAssistant(f"the server is not Home Assistant: {detail}", detail)
    send_json(ws, {"type": "auth", "access_token": token})
    answer = recv_json(ws, deadline)
    kind = answer.get("type") if isinstance(answer, dict) else None
    if kind == "auth_ok":
        return answer.get("ha_version") or hello.get("ha_version")
    if kind == "auth_invalid":
        # Home Assistant's message is a fixed text, never the token.
        detail = answer.get("message") or "auth_invalid"
        raise HAAuthInvalid(f"Home Assistant rejected the access token: {detail}", detail)
    detail = f"unexpected answer to authentication: {kind!r}"
    raise HANotHomeAssistant(f"the server is not Home Assistant: {detail}", detail)


def classify(err, url, timeout):
    """Map a low-level exception of the handshake onto an :class:`HAProbeError`."""
    if isinstance(err, (websocket.WebSocketTimeoutException, TimeoutError)):
        return _error(HAProbeTimeout, url, f"no answer within {timeout:g} s")
    if isinstance(err, websocket.WebSocketBadStatusException):
        return _error(HANotHomeAssistant, url, f"HTTP {err.status_code} instead of the WebSocket API")
    if isinstance(err, websocket.WebSocketAddressException):
        return _error(HAUnreachable, url, f"unknown host ({err})")
    if isinstance(err, ssl.SSLError):
        return _error(HAUnreachable, url, f"TLS error ({getattr(err, 'reason', None) or err})")
    if isinstance(err, websocket.WebSocketConnectionClosedException):
        return _error(HAUnreachable, url, "the connection was closed during the handshake")
    if isinstance(err, OSError):
        return _error(HAUnreachable, url, err.strerror or str(err) or type(err).__name__)
    if isinstance(err, FrameTooLarge):
        return _error(HAProbeError, url, str(err))
    # Malformed HTTP, a protocol other than WebSocket, or text that is not JSON.
    return _error(HANotHomeAssistant, url, f"no Home Assistant WebSocket API ({err})")


def _error(cls, url, detail):
    return cls(f"{url}: {detail}", detail)
