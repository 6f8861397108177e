"""Tools of the tests: waiting with a bound, and servers that are not Home Assistant."""

import contextlib
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def wait_until(predicate, timeout, interval=0.05):
    """Poll ``predicate`` until it is truthy or ``timeout`` passes; returns its last value."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() >= deadline:
            return value
        time.sleep(interval)


class Recorder:
    """A callback that collects its arguments; callbacks run on the client's reader thread."""

    def __init__(self):
        self.items = []
        self._lock = threading.Lock()

    def __call__(self, item):
        with self._lock:
            self.items.append(item)

    def matching(self, predicate):
        with self._lock:
            return [item for item in self.items if predicate(item)]


def changed(entity_id):
    """Predicate of the ``state_changed`` events of one entity."""
    return lambda event: event["data"]["entity_id"] == entity_id


def free_port():
    """A loopback port nothing listens on (it was free a moment ago)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class _WebPage(BaseHTTPRequestHandler):
    """A real web server that is not Home Assistant: every path is a 404 page."""

    def do_GET(self):
        body = b"<html><body>Just a web page</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def web_server():
    """The base URL of a local ``http.server`` that is not Home Assistant."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def silent_server():
    """The base URL of a socket that accepts connections but never answers.

    The kernel completes TCP handshakes from the listen backlog, so a client
    connects and then waits for an HTTP answer that never comes.
    """
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
