"""Loads tools/odoo_server.py by path: tools/ is not a package of the addon.

Not a conftest.py: pytest imports conftest files before pytest-odoo maps
the addon onto odoo.addons, which would import the addon under a wrong name.
"""

import importlib.util
from pathlib import Path

_spec = importlib.util.spec_from_file_location(
    "odoo_ha_addon_server", Path(__file__).resolve().parents[1] / "tools" / "odoo_server.py"
)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

OdooServer = _module.OdooServer
harness = _module.harness
wait_for = _module.wait_for
