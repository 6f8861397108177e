from odoo import http

from ..exceptions import NoInstance
from .common import ha_route
from .params import Param, choice, entity_id, record_id


class HAController(http.Controller):
    @ha_route("instances", resolve=False)
    def instances(self, ctx):
        Instance = ctx.env["ha.instance"]
        try:
            current = Instance._resolve_for_request(ctx.session).instance
        except NoInstance:
            current = Instance
        return Instance._instances_payload(current)

    @ha_route("current_instance")
    def current_instance(self, ctx):
        return {
            "instance_id": ctx.instance.id,
            "instance_name": ctx.instance.name,
            "source": ctx.resolution.source,
        }

    @ha_route("switch_instance", params={"instance_id": Param(record_id, required=True)}, resolve=False)
    def switch_instance(self, ctx, instance_id):
        instance = ctx.env["ha.instance"]._resolve_for_request(ctx.session, instance_id).instance
        instance._switch_to(ctx.session)
        return {"instance_id": instance.id, "instance_name": instance.name}

    @ha_route(
        "check_access",
        params={
            "operation": Param(choice("read", "control", "manage"), required=True),
            "entity_id": Param(entity_id),
            "ha_instance_id": Param(record_id),
        },
        resolve=False,
    )
    def check_access(self, ctx, operation, entity_id, ha_instance_id):
        allowed, reason = ctx.env["ha.instance"]._check_user_access(ctx.session, operation, entity_id, ha_instance_id)
        return {"allowed": allowed, "reason": reason}
