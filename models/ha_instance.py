import logging
from urllib.parse import urlsplit, urlunsplit

from odoo import api, fields, models
from odoo.exceptions import ValidationError

from ..ha_client import errors as ha_errors
from ..ha_client import probe

_logger = logging.getLogger(__name__)

CONNECTION_STATES = [
    ("connected", "Connected"),
    ("connecting", "Connecting"),
    ("disconnected", "Disconnected"),
    ("auth_failed", "Authentication failed"),
    ("error", "Error"),
    ("disabled", "Disabled"),
]


def normalize_api_url(url):
    """Return ``url`` as ``scheme://host[:port][/path]`` without a trailing
    slash, or None when it is not a usable http(s) URL."""
    if not isinstance(url, str):
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username or parts.password or parts.query or parts.fragment:
        return None
    path = parts.path.rstrip("/")
    return urlunsplit((parts.scheme.lower(), parts.netloc, path, "", ""))


class HAInstance(models.Model):
    _name = "ha.instance"
    _inherit = ["bus.listener.mixin"]
    _description = "Home Assistant instance"
    _order = "sequence, id"

    name = fields.Char(required=True)
    api_url = fields.Char(
        string="URL",
        required=True,
        help="Base URL of Home Assistant, for example http://homeassistant.local:8123",
    )
    api_token = fields.Char(
        string="Access token",
        groups="odoo_ha_addon.group_ha_manager",
        copy=False,
        help="A long-lived access token created in Home Assistant (your profile, Security tab).",
    )
    active = fields.Boolean(default=True)
    sequence = fields.Integer(default=10)
    user_ids = fields.Many2many(
        "res.users",
        "ha_instance_res_users_rel",
        "instance_id",
        "user_id",
        string="Allowed users",
        domain=lambda self: [("groups_id", "in", self.env.ref("odoo_ha_addon.group_ha_user").id)],
        help="Home Assistant users allowed on this instance. Leave empty to allow every Home Assistant user.",
    )
    connection_state = fields.Selection(CONNECTION_STATES, default="disconnected", readonly=True, copy=False)
    ha_version = fields.Char(string="Home Assistant version", readonly=True, copy=False)

    @api.constrains("api_url")
    def _check_api_url(self):
        for instance in self:
            if normalize_api_url(instance.api_url) != instance.api_url:
                raise ValidationError(
                    self.env._(
                        "The URL %(url)s is not valid: use an http:// or https:// address "
                        "of Home Assistant, such as http://homeassistant.local:8123",
                        url=instance.api_url,
                    )
                )

    @api.model_create_multi
    def create(self, vals_list):
        for vals in vals_list:
            self._normalize_vals(vals)
        return super().create(vals_list)

    def write(self, vals):
        self._normalize_vals(vals)
        return super().write(vals)

    @staticmethod
    def _normalize_vals(vals):
        # A URL that cannot be normalised is kept as typed so that the
        # constraint reports it instead of silently storing something else.
        if vals.get("api_url"):
            vals["api_url"] = normalize_api_url(vals["api_url"]) or vals["api_url"]
        if isinstance(vals.get("api_token"), str):
            vals["api_token"] = vals["api_token"].strip()

    def _probe_messages(self):
        return {
            "unreachable": self.env._("Home Assistant cannot be reached at %(url)s: %(detail)s"),
            "auth_invalid": self.env._(
                "Home Assistant at %(url)s refused the access token. Create a new long-lived token and save it here."
            ),
            "not_home_assistant": self.env._("%(url)s answers, but it is not a Home Assistant server: %(detail)s"),
            "timeout": self.env._("Home Assistant at %(url)s did not answer in time."),
        }

    def action_test_connection(self):
        """Do a real WebSocket handshake and report the outcome to the user."""
        self.ensure_one()
        self.check_access("write")
        token = self.sudo().api_token
        if not token:
            return self._notify(self.env._("Set an access token first."), "warning")
        try:
            info = probe(self.api_url, token, timeout=10)
        except ha_errors.HAProbeError as error:
            template = self._probe_messages().get(error.code, "%(detail)s")
            message = template % {"url": self.api_url, "detail": error.detail}
            _logger.info("Connection test of %s failed: %s", self.display_name, error.code)
            return self._notify(message, "danger", sticky=True)
        self.ha_version = info["ha_version"]
        return self._notify(
            self.env._(
                "Connected to %(location)s, Home Assistant %(version)s.",
                location=info.get("location_name") or self.api_url,
                version=info["ha_version"],
            ),
            "success",
        )

    def _notify(self, message, kind, sticky=False):
        return {
            "type": "ir.actions.client",
            "tag": "display_notification",
            "params": {
                "title": self.display_name,
                "message": message,
                "type": kind,
                "sticky": sticky,
                "next": {"type": "ir.actions.client", "tag": "soft_reload"},
            },
        }
