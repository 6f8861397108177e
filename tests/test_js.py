"""Run the addon's Hoot unit tests (``static/tests/*.test.js``) in Chromium.

The browser runs Odoo's unit test page restricted to this addon's suite; the
JavaScript tests mock the server, so no Home Assistant is involved.
"""

import re

from odoo.tests import HttpCase, no_retry, tagged
from odoo.tools.misc import file_open

SUITE = "@odoo_ha_addon"
BUNDLE = "web.assets_unit_tests"
FORBIDDEN = re.compile(r"\b(test|describe)(\.\w+)*\.(only|debug)\(")


def hoot_id(full_name):
    """The id Hoot gives a suite or test: a 32-bit string hash, in hex.

    The test page selects suites by this id (``&suite=<id>``).
    """
    value = 0
    for char in full_name:
        value = ((value << 5) - value + ord(char)) & 0xFFFFFFFF
    return f"{value:08x}"


def hoot_error(message):
    # Hoot reports each failed test with its prefix and goes on; the run
    # ends with an unprefixed error when anything failed, which stops the
    # browser. Any other console error (a crash outside a test) stops it too.
    return "[HOOT]" not in message


@tagged("post_install", "-at_install")
class TestHootSuite(HttpCase):
    def test_hoot_id(self):
        # Values Odoo's own runner relies on (web/tests/test_js.py).
        self.assertEqual(hoot_id("@web/core"), "e39ce9ba")
        self.assertEqual(hoot_id("@web/core/autocomplete/open dropdown on input"), "ee565d54")

    def test_suite_is_bundled(self):
        # A suite missing from the bundle would "pass" with zero tests.
        paths = [path for path, *_ in self.env["ir.asset"]._get_asset_paths(BUNDLE, {})]
        ours = [path for path in paths if path.startswith("/odoo_ha_addon/static/tests/")]
        self.assertTrue(ours, "the addon's Hoot tests are not in the unit test bundle")
        for path in ours:
            with file_open(path.lstrip("/"), "rb", filter_ext=(".js",)) as fp:
                # .only() or .debug() would silently skip every other test.
                self.assertNotRegex(fp.read().decode(), FORBIDDEN, path)

    @no_retry
    def test_hoot_unit_tests(self):
        self.browser_js(
            f"/web/tests?headless&loglevel=2&preset=desktop&timeout=15000&suite={hoot_id(SUITE)}",
            "",
            "",
            login="admin",
            timeout=600,
            success_signal="[HOOT] test suite succeeded",
            error_checker=hoot_error,
        )
