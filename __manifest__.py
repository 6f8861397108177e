{
    "name": "Home Assistant",
    "summary": "Run several Home Assistant installations from Odoo: "
    "dashboards, instance switching, device control, live state",
    "version": "18.0.1.0.0",
    "category": "Productivity/Home Assistant",
    "author": "odoo_ha_addon contributors",
    "license": "LGPL-3",
    "depends": ["web", "bus"],
    "external_dependencies": {"python": ["websocket-client"]},
    "data": [
        "security/ha_security.xml",
        "security/ir.model.access.csv",
        "security/ha_rules.xml",
        "views/ha_instance_views.xml",
        "views/ha_mirror_views.xml",
        "views/ha_menus.xml",
        "views/ha_dashboard.xml",
    ],
    "demo": ["demo/ha_instance_demo.xml"],
    "assets": {
        "web.assets_backend": ["odoo_ha_addon/static/src/**/*"],
        "web.assets_unit_tests": ["odoo_ha_addon/static/tests/**/*.test.js"],
        "web.assets_tests": ["odoo_ha_addon/static/tests/tours/**/*"],
    },
    "post_load": "_post_load",
    "installable": True,
    "application": True,
}
