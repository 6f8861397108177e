"""Errors raised by the Home Assistant client.

Every error has a stable ``code`` and a ``public_code``, the addon's error
code it maps onto (``ha_unavailable``, ``ha_error`` or ``timeout``), so
callers never parse messages. Errors of :func:`~.transport.probe` are
:class:`HAProbeError` and have a finer ``code`` telling the user what to fix.

=============================  ====================  ==============
class                          code                  public_code
=============================  ====================  ==============
:class:`HAUnavailable`         ha_unavailable        ha_unavailable
:class:`HACommandError`        ha_error              ha_error
:class:`HATimeout`             timeout               timeout
:class:`HAUnreachable`         unreachable           ha_unavailable
:class:`HANotHomeAssistant`    not_home_assistant    ha_unavailable
:class:`HAAuthInvalid`         auth_invalid          ha_error
:class:`HAProbeTimeout`        timeout               timeout
=============================  ====================  ==============

``message`` (also ``str(error)``) is a full sentence; ``detail`` is the
bare reason, for messages that already name the URL. Neither ever contains
the access token.
"""


class HAError(Exception):
    """Base class of every error the client raises on purpose."""

    code = "ha_error"

    def __init__(self, message, detail=None):
        super().__init__(message)
        self.message = message
        self.detail = detail or message

    @property
    def public_code(self):
        return self.code


class HAUnavailable(HAError):
    """Home Assistant cannot be reached, or the connection is down."""

    code = "ha_unavailable"


class HATimeout(HAError):
    """No answer within the allowed time."""

    code = "timeout"


class HACommandError(HAError):
    """Home Assistant answered a command with ``success: false``.

    ``ha_code`` is Home Assistant's own error code (``not_found``,
    ``invalid_format``, ``home_assistant_error``, ...). The translation
    fields are set when Home Assistant provides them, so a UI can show its
    translated text.
    """

    def __init__(self, ha_code, message, translation_domain=None, translation_key=None, translation_placeholders=None):
        super().__init__(message)
        self.ha_code = ha_code
        self.translation_domain = translation_domain
        self.translation_key = translation_key
        self.translation_placeholders = translation_placeholders

    def __str__(self):
        return f"{self.message} ({self.ha_code})"


class HAProbeError(HAError):
    """A connection test failed; ``code`` says why. Used as is for an unexpected answer."""

    _public_code = "ha_error"

    @property
    def public_code(self):
        return self._public_code


class HAUnreachable(HAProbeError, HAUnavailable):
    """Nothing answered: connection refused, unknown host, network or TLS error."""

    code = "unreachable"
    _public_code = "ha_unavailable"


class HANotHomeAssistant(HAProbeError, HAUnavailable):
    """Something answered at the URL, but not Home Assistant's WebSocket API."""

    code = "not_home_assistant"
    _public_code = "ha_unavailable"


class HAAuthInvalid(HAProbeError):
    """Home Assistant rejected the access token (``auth_invalid``)."""

    code = "auth_invalid"


class HAProbeTimeout(HAProbeError, HATimeout):
    """The handshake did not complete in time."""

    code = "timeout"
    _public_code = "timeout"
