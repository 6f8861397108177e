"""The envelope every JSON route of the contract answers with.

A route is declared with :func:`ha_route`; the decorator validates the
parameters, checks the caller's group, resolves the Home Assistant instance
and turns every failure into ``{"success": false, "error", "error_code"}``.
The route body only calls the models.
"""

import logging

from psycopg2 import OperationalError

from odoo import http
from odoo.exceptions import AccessError, UserError, ValidationError
from odoo.http import request

from ..exceptions import HAApiError, InstanceAccessDenied
from .params import Param, parse, record_id

_logger = logging.getLogger(__name__)

ROUTE_PREFIX = "/odoo_ha_addon/"
INSTANCE_PARAM = {"ha_instance_id": Param(record_id)}


class RouteContext:
    """What a route body gets: the environment, the session and, unless the
    route opts out, the resolved instance."""

    def __init__(self, env, session, resolution=None):
        self.env = env
        self.session = session
        self.resolution = resolution

    @property
    def instance(self):
        return self.resolution.instance


def ha_route(name, params=None, resolve=True, manager=False, writes=False):
    """Declare the JSON route ``/odoo_ha_addon/<name>``.

    ``params`` maps parameter names to :class:`Param`; when ``resolve`` is
    true the route also takes ``ha_instance_id`` and receives the resolved
    instance. ``manager`` restricts the route to Home Assistant managers.
    A route whose body ``writes`` runs it in a savepoint, so that a failure
    leaves nothing written; the others save the two round trips.
    """
    spec = dict(params or {})
    if resolve:
        spec.update(INSTANCE_PARAM)

    def decorator(func):
        def endpoint(self, **kwargs):
            return _dispatch(func, self, kwargs, spec, resolve, manager, writes)

        # Not functools.wraps: Odoo reads the signature through __wrapped__
        # and would drop every parameter the body does not name, so unknown
        # parameters could not be refused.
        endpoint.__name__ = func.__name__
        endpoint.__qualname__ = func.__qualname__
        endpoint.__doc__ = func.__doc__
        return http.route(ROUTE_PREFIX + name, type="json", auth="user")(endpoint)

    return decorator


def _dispatch(func, controller, kwargs, spec, resolve, manager, writes):
    env = request.env
    try:
        _check_group(env, manager)
        values = parse(env, spec, kwargs)
        ctx = RouteContext(env, request.session)
        if resolve:
            explicit_id = values.pop("ha_instance_id")
            ctx.resolution = env["ha.instance"]._resolve_for_request(request.session, explicit_id)
        # A failing route body must leave nothing written behind, while what
        # the resolution did (session clean-up, fallback notice) stays.
        if writes:
            with env.cr.savepoint():
                data = func(controller, ctx, **values)
        else:
            data = func(controller, ctx, **values)
        return {"success": True, "data": data}
    except HAApiError as error:
        return _error(error.message, error.code)
    except AccessError:
        return _error(env._("You are not allowed to do this."), "access_denied")
    except (UserError, ValidationError) as error:
        return _error(str(error.args[0] if error.args else error), "invalid_params")
    except OperationalError:
        # Serialization failures must reach Odoo's retry loop.
        raise
    except Exception:
        _logger.exception("Unexpected error in %s%s", ROUTE_PREFIX, func.__name__)
        return _error(env._("Unexpected server error; the details are in the server log."), "ha_error")


def _check_group(env, manager):
    group = "odoo_ha_addon.group_ha_manager" if manager else "odoo_ha_addon.group_ha_user"
    if not env.user.has_group(group):
        if manager:
            raise InstanceAccessDenied(env._("Only Home Assistant managers may do this."))
        raise InstanceAccessDenied(env._("Home Assistant is not enabled for your user."))


def _error(message, code):
    # A message may quote the caller's text: one that cannot be encoded
    # (a lone surrogate) would break the JSON answer itself.
    message = message.encode("utf-8", "backslashreplace").decode("utf-8")
    return {"success": False, "error": message, "error_code": code}
