from . import controllers, models


def _post_load():
    # Imported here: the runner patches Odoo's server classes and must only
    # be loaded by a server that runs Odoo, not by tools importing the addon.
    from .services import runner

    runner.install()
