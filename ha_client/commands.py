"""Commands and subscriptions as the client tracks them."""

import json
import logging
import threading
from concurrent.futures import Future, InvalidStateError
from concurrent.futures import TimeoutError as FutureTimeout

from .errors import HATimeout

_LOGGER = logging.getLogger(__name__)


def encode(message):
    """Serialize a command without its ``id``; :func:`frame` adds it when sent.

    Serializing before taking the send lock keeps big payloads from holding
    up other senders, and rejects a bad message before anything is sent.
    """
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError("a Home Assistant command is a dict with a 'type' string")
    body = json.dumps({key: value for key, value in message.items() if key != "id"}, separators=(",", ":"))
    return message["type"], body[1:]


def frame(msg_id, encoded):
    """The text frame of an encoded command under the id it is sent with."""
    return f'{{"id":{msg_id},{encoded[1]}'


def service_message(domain, service, service_data=None, target=None, return_response=False):
    """A ``call_service`` command, for :meth:`HAClient.call_many` batches."""
    message = {"type": "call_service", "domain": domain, "service": service}
    if service_data:
        message["service_data"] = service_data
    if target:
        message["target"] = target
    if return_response:
        message["return_response"] = True
    return message


def settle(future, result=None, exc=None):
    """Complete a future unless it is already complete or was cancelled."""
    try:
        if exc is not None:
            future.set_exception(exc)
        else:
            future.set_result(result)
    except InvalidStateError:
        pass


WAIT_ON_READER = (
    "waiting for a Home Assistant answer on the client's reader thread "
    "would deadlock it; use call_async() without waiting"
)


class CallFuture(Future):
    """The future answer to one command.

    :meth:`result` raises :class:`~.errors.HATimeout` (not the standard
    ``TimeoutError``) when the time runs out, and the client then forgets
    the command, so a late answer is dropped.
    """

    def __init__(self, msg_type, reader=None):
        super().__init__()
        self.msg_type = msg_type
        self._reader = reader
        self.connection = None
        self.id = None

    def result(self, timeout=None):
        if not self.done() and threading.current_thread() is self._reader:
            raise RuntimeError(WAIT_ON_READER)
        try:
            return super().result(timeout)
        except FutureTimeout:
            if self.connection is not None:
                self.connection.forget(self)
            settle(self, exc=HATimeout(f"Home Assistant did not answer {self.msg_type} within {timeout:g} s"))
            # The answer may have arrived meanwhile: then it wins over the timeout.
            return super().result(0)


class Subscription:
    """A subscription; it is sent again after each reconnection until unsubscribed.

    ``id`` is the id its subscribe command got on the connection it was last
    sent on: ids are per connection.
    """

    def __init__(self, client, message, callback, resubscribe):
        self._client = client
        self.message = message
        self.encoded = encode(message)
        self.callback = callback
        self.resubscribe = resubscribe
        self.id = None
        self.active = True

    def unsubscribe(self):
        """Stop the callbacks now and tell Home Assistant, without waiting.

        Safe from any thread, including from inside the callback; never
        raises: Home Assistant drops the subscription with the connection anyway.
        """
        self._client._unsubscribe(self)

    def deliver(self, event):
        try:
            self.callback(event)
        except Exception:
            # Logged, never raised: the reader thread must survive user code.
            _LOGGER.exception("Callback of Home Assistant subscription %s failed", self.message.get("type"))

    def __repr__(self):
        return f"<Subscription {self.message.get('type')} id={self.id} active={self.active}>"
