"""Pieces of the client that need no Home Assistant."""

import io

import pytest
import websocket

from .. import (
    CallFuture,
    HAAuthInvalid,
    HACommandError,
    HAError,
    HANotHomeAssistant,
    HAProbeError,
    HAProbeTimeout,
    HATimeout,
    HAUnavailable,
    HAUnreachable,
    backoff_delay,
    base_url,
    rest_url,
    service_message,
    websocket_url,
)
from ..commands import encode, frame
from ..transport import FrameTooLarge, HAWebSocket


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8123", "ws://127.0.0.1:8123/api/websocket"),
        ("https://ha.example.org", "wss://ha.example.org/api/websocket"),
        ("HTTPS://ha.example.org:8443/", "wss://ha.example.org:8443/api/websocket"),
        ("http://proxy.lan/home-assistant/", "ws://proxy.lan/home-assistant/api/websocket"),
        ("  http://[::1]:8123  ", "ws://[::1]:8123/api/websocket"),
    ],
)
def test_websocket_url(url, expected):
    assert websocket_url(url) == expected


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:8123",
        "ftp://127.0.0.1",
        "127.0.0.1:8123",
        "http://",
        "http://user:secret@127.0.0.1:8123",
        "http://127.0.0.1:8123/?x=1",
        "http://127.0.0.1:8123/#top",
        "http://127.0.0.1:99999",
        None,
    ],
)
def test_other_urls_are_rejected(url):
    with pytest.raises(ValueError):
        websocket_url(url)


def test_base_and_rest_urls():
    assert base_url("http://127.0.0.1:8123/") == "http://127.0.0.1:8123"
    assert rest_url("http://h:1/sub/", "/api/states/sensor.x") == "http://h:1/sub/api/states/sensor.x"


def test_backoff_doubles_from_one_second_up_to_the_cap():
    for _ in range(200):
        assert 0.5 <= backoff_delay(0) <= 1.0
        assert 1.0 <= backoff_delay(1) <= 2.0
        assert 15.0 <= backoff_delay(10) <= 30.0
        assert 15.0 <= backoff_delay(10_000) <= 30.0
        assert 1.0 <= backoff_delay(5, first=0.1, cap=2.0) <= 2.0


def test_commands_get_their_id_when_sent():
    encoded = encode({"type": "call_service", "id": 99, "domain": "light"})
    assert encoded[0] == "call_service"
    assert frame(7, encoded) == '{"id":7,"type":"call_service","domain":"light"}'
    with pytest.raises(ValueError):
        encode({"domain": "light"})
    with pytest.raises(TypeError):
        encode({"type": "ping", "data": object()})


def test_service_message():
    assert service_message("light", "toggle") == {"type": "call_service", "domain": "light", "service": "toggle"}
    assert service_message("weather", "get_forecasts", {"type": "daily"}, {"entity_id": "weather.x"}, True) == {
        "type": "call_service",
        "domain": "weather",
        "service": "get_forecasts",
        "service_data": {"type": "daily"},
        "target": {"entity_id": "weather.x"},
        "return_response": True,
    }


def test_error_codes():
    table = [
        (HAUnavailable("x"), "ha_unavailable", "ha_unavailable"),
        (HACommandError("not_found", "x"), "ha_error", "ha_error"),
        (HATimeout("x"), "timeout", "timeout"),
        (HAProbeError("x"), "ha_error", "ha_error"),
        (HAUnreachable("x"), "unreachable", "ha_unavailable"),
        (HANotHomeAssistant("x"), "not_home_assistant", "ha_unavailable"),
        (HAAuthInvalid("x"), "auth_invalid", "ha_error"),
        (HAProbeTimeout("x"), "timeout", "timeout"),
    ]
    for error, code, public_code in table:
        assert (error.code, error.public_code) == (code, public_code), type(error)
        assert isinstance(error, HAError)
    assert isinstance(HAUnreachable("x"), HAUnavailable)
    assert isinstance(HAProbeTimeout("x"), HATimeout)
    assert str(HACommandError("not_found", "Service light.nope not found.")) == (
        "Service light.nope not found. (not_found)"
    )
    assert HAUnreachable("http://h: refused", "refused").detail == "refused"


def test_future_timeout_raises_ha_timeout():
    future = CallFuture("ping")
    with pytest.raises(HATimeout) as caught:
        future.result(0.01)
    assert caught.value.code == "timeout"


def _server_frames(*frames):
    """A websocket reading the given server frames (unmasked), as Home Assistant sends them."""
    stream = io.BytesIO(
        b"".join(websocket.ABNF(fin, 0, 0, 0, opcode, 0, data).format() for fin, opcode, data in frames)
    )
    ws = HAWebSocket(max_frame_size=4096)
    ws.frame_buffer.recv = stream.read
    return ws, stream


def test_frame_limit_stops_before_reading_the_payload():
    ws, stream = _server_frames((1, websocket.ABNF.OPCODE_TEXT, b"x" * 5000))
    with pytest.raises(FrameTooLarge, match="5000 bytes, over the 4096 bytes limit"):
        ws.recv_data()
    assert stream.tell() == 4  # the header only


def test_frame_limit_counts_the_fragments_of_one_message():
    ws, _stream = _server_frames(
        (0, websocket.ABNF.OPCODE_TEXT, b"a" * 2000),
        (1, websocket.ABNF.OPCODE_CONT, b"b" * 2000),
        (1, websocket.ABNF.OPCODE_TEXT, b"c" * 4000),
        (0, websocket.ABNF.OPCODE_TEXT, b"d" * 3000),
        (1, websocket.ABNF.OPCODE_CONT, b"e" * 3000),
    )
    assert ws.recv_data() == (websocket.ABNF.OPCODE_TEXT, b"a" * 2000 + b"b" * 2000)
    assert ws.recv_data() == (websocket.ABNF.OPCODE_TEXT, b"c" * 4000)
    with pytest.raises(FrameTooLarge, match="6000 bytes"):
        ws.recv_data()
