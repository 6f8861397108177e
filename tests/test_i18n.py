import io

import polib

from odoo.tests import TransactionCase, tagged
from odoo.tools.translate import trans_export

from .common import ADDON_ROOT

POT = ADDON_ROOT / "i18n" / "odoo_ha_addon.pot"


@tagged("post_install", "-at_install")
class TestTranslationTemplate(TransactionCase):
    """The committed .pot holds exactly the terms the code and data have."""

    def test_pot_is_up_to_date(self):
        buffer = io.BytesIO()
        trans_export(None, ["odoo_ha_addon"], buffer, "po", self.env.cr)
        exported = {entry.msgid for entry in polib.pofile(buffer.getvalue().decode())}
        committed = {entry.msgid for entry in polib.pofile(str(POT))}
        self.assertTrue(exported)
        self.assertEqual(
            (sorted(exported - committed), sorted(committed - exported)),
            ([], []),
            "i18n/odoo_ha_addon.pot is stale: regenerate it with scripts/export_pot.sh",
        )
