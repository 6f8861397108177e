from odoo import http

from ..exceptions import NoInstance
from .common import ha_route
from .params import SERVICE_CALL, Param, boolean, choice, entity_id, record_id, service_calls, text


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

    @ha_route("switch_instance", params={"instance_id": Param(record_id, required=True)}, resolve=False, writes=True)
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

    # -- Home Assistant, live ---------------------------------------------

    @ha_route("hardware_info")
    def hardware_info(self, ctx):
        return ctx.instance._hardware_info()

    @ha_route("network_info")
    def network_info(self, ctx):
        return ctx.instance._network_info()

    @ha_route("ha_urls")
    def ha_urls(self, ctx):
        return ctx.instance._ha_urls()

    @ha_route("websocket_status")
    def websocket_status(self, ctx):
        return ctx.instance._websocket_status()

    @ha_route("websocket_restart", params={"force": Param(boolean, default=False)}, manager=True, writes=True)
    def websocket_restart(self, ctx, force):
        return ctx.instance._restart_connection(force)

    @ha_route("call_service", params={**SERVICE_CALL, "return_response": Param(boolean, default=False)})
    def call_service(self, ctx, domain, service, service_data, target, return_response):
        return ctx.instance._call_service(domain, service, service_data, target, return_response)

    @ha_route("call_services", params={"calls": Param(service_calls, required=True)})
    def call_services(self, ctx, calls):
        return {"results": ctx.instance._call_services(calls)}

    # -- mirrored data ------------------------------------------------------

    @ha_route("areas")
    def areas(self, ctx):
        return {"areas": ctx.instance._areas_payload()}

    @ha_route("entities_by_area", params={"area_id": Param(text(255), required=True)})
    def entities_by_area(self, ctx, area_id):
        return {"area_id": area_id, "entities": ctx.instance._entities_by_area_payload(area_id)}
