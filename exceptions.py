"""Errors that the JSON routes turn into contract envelopes.

Each carries one of the contract's ``error_code`` values and a message already
translated into the user's language, so controllers only format them.
"""


class HAApiError(Exception):
    code = "ha_error"

    def __init__(self, message, code=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code


class NoInstance(HAApiError):
    code = "no_instance"


class InstanceAccessDenied(HAApiError):
    code = "access_denied"


class InvalidParams(HAApiError):
    code = "invalid_params"


class NotFound(HAApiError):
    code = "not_found"
