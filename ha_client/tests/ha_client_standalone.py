"""pytest plugin of the standalone run; ``pytest.ini`` next to it explains why.

It teaches pytest's module naming that ``ha_client`` is a top-level package,
as pytest-odoo teaches it the ``odoo.addons.`` prefix.
"""

import sys
from pathlib import Path

import _pytest.pathlib

REPOSITORY = Path(__file__).resolve().parents[2]
PACKAGE = REPOSITORY / "ha_client"
# pytest.ini puts only this directory on sys.path, to import this plugin
# without importing the ha_client package through a path ending in "/../..".
sys.path.insert(0, str(REPOSITORY))
_resolve = _pytest.pathlib.resolve_pkg_root_and_module_name


def _resolve_in_ha_client(path, *, consider_namespace_packages=False):
    resolved = Path(path).resolve()
    if resolved.is_relative_to(PACKAGE):
        names = list(resolved.relative_to(REPOSITORY).with_suffix("").parts)
        if names[-1] == "__init__":
            names.pop()
        return REPOSITORY, ".".join(names)
    return _resolve(path, consider_namespace_packages=consider_namespace_packages)


_pytest.pathlib.resolve_pkg_root_and_module_name = _resolve_in_ha_client
