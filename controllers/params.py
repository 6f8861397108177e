"""Validation of JSON route parameters.

Routes accept only the parameters they declare, with the declared types and
bounds; anything else is refused with ``invalid_params`` before any work is
done, so a hostile or buggy client cannot reach the models with odd values.
"""

import re

from ..exceptions import InvalidParams

MAX_ID = 2**31 - 1
ENTITY_ID_RE = re.compile(r"^[a-z0-9_]+\.[a-z0-9_]+$")


class Param:
    def __init__(self, check, required=False, default=None):
        self.check = check
        self.required = required
        self.default = default


def record_id(env, name, value):
    # bool is an int subclass in Python: refuse it explicitly.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise InvalidParams(env._("%(name)s must be a positive integer id.", name=name))
    return value


def boolean(env, name, value):
    if not isinstance(value, bool):
        raise InvalidParams(env._("%(name)s must be true or false.", name=name))
    return value


def choice(*allowed):
    def check(env, name, value):
        if value not in allowed:
            raise InvalidParams(env._("%(name)s must be one of: %(allowed)s.", name=name, allowed=", ".join(allowed)))
        return value

    return check


def entity_id(env, name, value):
    if not isinstance(value, str) or len(value) > 255 or not ENTITY_ID_RE.match(value):
        raise InvalidParams(env._("%(name)s must be a Home Assistant entity id such as light.kitchen.", name=name))
    return value


def parse(env, spec, values):
    """Return the validated parameters, defaults filled in."""
    unknown = sorted(set(values) - set(spec))
    if unknown:
        raise InvalidParams(env._("Unknown parameter(s): %(names)s.", names=", ".join(map(str, unknown))[:200]))
    parsed = {}
    for name, param in spec.items():
        if name not in values or values[name] is None:
            if param.required:
                raise InvalidParams(env._("%(name)s is required.", name=name))
            parsed[name] = param.default
            continue
        parsed[name] = param.check(env, name, values[name])
    return parsed
