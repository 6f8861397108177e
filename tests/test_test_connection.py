import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from odoo.exceptions import AccessError
from odoo.tests import TransactionCase, tagged

from .common import HACommon, free_port


class _NotHomeAssistant(BaseHTTPRequestHandler):
    """A real web server that is not Home Assistant."""

    def do_GET(self):
        body = b"<html><body>Just a web page</body></html>"
        self.send_response(404)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@tagged("post_install", "-at_install")
class TestTestConnection(HACommon, TransactionCase):
    def press(self, instance, user=None):
        action = instance.with_user(user or self.manager).action_test_connection()
        self.assertEqual(action["tag"], "display_notification")
        return action["params"]

    def test_success_reports_version(self):
        version = self.peer_a.ws_call("get_config")["version"]
        params = self.press(self.instance_a)
        self.assertEqual(params["type"], "success")
        self.assertIn(version, params["message"])
        self.assertIn("HA Test Alpha", params["message"])
        self.assertEqual(self.instance_a.ha_version, version)
        self.assertNotIn(self.peer_a.token, str(params))

    def test_bad_token(self):
        self.instance_b.api_token = "not-a-valid-token"
        params = self.press(self.instance_b)
        self.assertEqual(params["type"], "danger")
        self.assertIn("refused the access token", params["message"])
        self.assertFalse(self.instance_b.ha_version)

    def test_nothing_listening(self):
        self.instance_b.api_url = f"http://127.0.0.1:{free_port()}"
        params = self.press(self.instance_b)
        self.assertEqual(params["type"], "danger")
        self.assertIn("cannot be reached", params["message"])

    def test_not_home_assistant(self):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _NotHomeAssistant)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            self.instance_b.api_url = f"http://127.0.0.1:{server.server_address[1]}"
            params = self.press(self.instance_b)
        finally:
            server.shutdown()
            server.server_close()
        self.assertEqual(params["type"], "danger")
        self.assertIn("not a Home Assistant server", params["message"])

    def test_missing_token(self):
        self.instance_b.api_token = False
        self.assertEqual(self.press(self.instance_b)["type"], "warning")

    def test_only_managers_may_test(self):
        with self.assertRaises(AccessError):
            self.instance_a.with_user(self.user_a).action_test_connection()
