"""Validation of JSON route parameters.

Routes accept only the parameters they declare, with the declared types and
bounds; anything else is refused with ``invalid_params`` before any work is
done, so a hostile or buggy client cannot reach the models with odd values.
"""

import json
import re

from ..exceptions import InvalidParams

MAX_ID = 2**31 - 1
MAX_DATA_BYTES = 64 * 1024
MAX_BATCH = 100
ENTITY_ID_RE = re.compile(r"[a-z0-9_]+\.[a-z0-9_]+")
SLUG_RE = re.compile(r"[a-z0-9_]{1,64}")
TARGET_KEYS = ("entity_id", "device_id", "area_id", "floor_id", "label_id")


class Param:
    def __init__(self, check, required=False, default=None):
        self.check = check
        self.required = required
        self.default = default


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
            parsed[name] = param.default() if callable(param.default) else param.default
            continue
        parsed[name] = param.check(env, name, values[name])
    return parsed


def _clean_text(value, max_length):
    """Whether ``value`` is text PostgreSQL and JSON can carry: no NUL byte,
    no lone surrogate."""
    if not isinstance(value, str) or not value or len(value) > max_length or "\x00" in value:
        return False
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


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
    if not isinstance(value, str) or len(value) > 255 or not ENTITY_ID_RE.fullmatch(value):
        raise InvalidParams(env._("%(name)s must be a Home Assistant entity id such as light.kitchen.", name=name))
    return value


def slug(env, name, value):
    """A Home Assistant domain or service name."""
    if not isinstance(value, str) or not SLUG_RE.fullmatch(value):
        raise InvalidParams(env._("%(name)s must be a Home Assistant name such as light or turn_on.", name=name))
    return value


def text(max_length):
    def check(env, name, value):
        if not _clean_text(value, max_length):
            raise InvalidParams(env._("%(name)s must be a text of 1 to %(max)s characters.", name=name, max=max_length))
        return value

    return check


def json_object(env, name, value):
    if not isinstance(value, dict) or not all(isinstance(key, str) for key in value):
        raise InvalidParams(env._("%(name)s must be a JSON object.", name=name))
    if len(json.dumps(value)) > MAX_DATA_BYTES:
        raise InvalidParams(env._("%(name)s is too large.", name=name))
    return value


def _check_target_ids(env, name, value):
    """The target keys of ``value`` (a target, or service data that may hold
    them too) are ids or lists of ids."""
    for key in TARGET_KEYS:
        if key not in value:
            continue
        ids = value[key]
        items = [ids] if isinstance(ids, str) else ids
        if not isinstance(items, list) or not all(_clean_text(item, 255) for item in items):
            raise InvalidParams(env._("%(name)s.%(key)s must be an id or a list of ids.", name=name, key=key))


def target(env, name, value):
    json_object(env, name, value)
    if set(value) - set(TARGET_KEYS):
        raise InvalidParams(env._("%(name)s may only contain: %(keys)s.", name=name, keys=", ".join(TARGET_KEYS)))
    _check_target_ids(env, name, value)
    return value


def service_data(env, name, value):
    json_object(env, name, value)
    _check_target_ids(env, name, value)
    return value


SERVICE_CALL = {
    "domain": Param(slug, required=True),
    "service": Param(slug, required=True),
    "service_data": Param(service_data, default=dict),
    "target": Param(target),
}


def service_calls(env, name, value):
    """A batch of service calls: the list itself must be sound, while each
    call is checked on its own so that one bad call fails alone."""
    if not isinstance(value, list) or not value:
        raise InvalidParams(env._("%(name)s must be a non-empty list of service calls.", name=name))
    if len(value) > MAX_BATCH:
        raise InvalidParams(env._("%(name)s may hold at most %(max)s calls.", name=name, max=MAX_BATCH))
    calls = []
    for call in value:
        try:
            if not isinstance(call, dict):
                raise InvalidParams(env._("Each service call must be a JSON object."))
            calls.append(parse(env, SERVICE_CALL, call))
        except InvalidParams as error:
            calls.append(error)
    return calls
