"""Service calls on behalf of a user, under the contract's service policy.

Managers may call any service. Everyone else may only act on entities of
the instance that they can see, with a service of the entities' own domain
or one of Home Assistant's generic entity services.
"""

from odoo import models

from ..exceptions import HAApiError, InstanceAccessDenied
from ..ha_client import service_message

MANAGER_GROUP = "odoo_ha_addon.group_ha_manager"
GENERIC_SERVICES = {"turn_on", "turn_off", "toggle", "update_entity"}
TARGET_KEYS = ("entity_id", "device_id", "area_id", "floor_id", "label_id")


def _as_list(value):
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


class HAInstance(models.Model):
    _inherit = "ha.instance"

    def _check_service_policy(self, domain, service, service_data, target):
        """Raise :class:`InstanceAccessDenied` unless the user may make this call."""
        self.ensure_one()
        if self.env.user.has_group(MANAGER_GROUP):
            return
        target = target or {}
        deny = self.env._
        if any(target.get(key) or service_data.get(key) for key in TARGET_KEYS[1:]):
            raise InstanceAccessDenied(deny("You may only target entities, not devices, areas, floors or labels."))
        entity_ids = set(_as_list(target.get("entity_id")) + _as_list(service_data.get("entity_id")))
        if not entity_ids:
            raise InstanceAccessDenied(deny("Name the entities this service acts on."))
        if "all" in entity_ids or "none" in entity_ids:
            raise InstanceAccessDenied(deny("You may not target every entity at once."))
        visible = self.env["ha.entity"].search([("instance_id", "=", self.id), ("entity_id", "in", list(entity_ids))])
        if len(visible) != len(entity_ids):
            raise InstanceAccessDenied(
                deny("You may only act on entities of %(instance)s that you can see.", instance=self.name)
            )
        if domain == "homeassistant":
            if service not in GENERIC_SERVICES:
                raise InstanceAccessDenied(
                    deny("Only Home Assistant managers may call homeassistant.%(service)s.", service=service)
                )
        elif set(visible.mapped("domain")) != {domain}:
            raise InstanceAccessDenied(
                deny(
                    "%(domain)s.%(service)s does not act on these entities: only their own domain's services are"
                    " allowed.",
                    domain=domain,
                    service=service,
                )
            )

    def _call_service(self, domain, service, service_data, target=None, return_response=False):
        self._check_service_policy(domain, service, service_data, target)
        message = service_message(domain, service, service_data, target, return_response)
        del message["type"]
        return _service_data(self._ha_call("call_service", **message))

    def _call_services(self, calls):
        """Check every call, pipeline the allowed ones; one envelope per call, in order."""
        self.ensure_one()
        envelopes = [None] * len(calls)
        allowed = []
        for index, call in enumerate(calls):
            if isinstance(call, HAApiError):
                envelopes[index] = _failure(call)
                continue
            try:
                self._check_service_policy(call["domain"], call["service"], call["service_data"], call["target"])
            except HAApiError as error:
                envelopes[index] = _failure(error)
                continue
            allowed.append((index, service_message(**call)))
        if allowed:
            results = self._ha_call_many([message for _index, message in allowed])
            for (index, _message), result in zip(allowed, results, strict=True):
                if isinstance(result, HAApiError):
                    envelopes[index] = _failure(result)
                else:
                    envelopes[index] = {"success": True, "data": _service_data(result)}
        return envelopes


def _failure(error):
    return {"success": False, "error": error.message, "error_code": error.code}


def _service_data(result):
    result = result or {}
    return {"context_id": (result.get("context") or {}).get("id"), "response": result.get("response")}
