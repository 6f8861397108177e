import logging
import sys

from odoo.tests import TransactionCase, tagged

_logger = logging.getLogger(__name__)


@tagged("post_install", "-at_install")
class TestProbe(TransactionCase):
    def test_probe(self):
        r = logging.getLogger()
        sys.stderr.write(f"PROBE root={r.handlers} lvl={r.level} eff={_logger.getEffectiveLevel()} dis={logging.root.manager.disable} prop={_logger.propagate} {logging.getLogger('odoo').handlers} {logging.getLogger('odoo').propagate}\n")
