"""The simulated board's control server: the sketch's answers, byte for byte."""

from __future__ import annotations

import asyncio
import json
import re
import time

import pytest

from relay.simulator import SimulatedCamera
from relay.simulator.httpd import query_value
from relay.simulator.sensor import c_atoi

from .wire import (
    NOT_FOUND,
    OK_EMPTY,
    SERVER_ERROR,
    StreamClient,
    decode,
    get,
    http_exchange,
    is_closed,
    read_response,
    simulator,
)

STATUS_KEYS = [
    "0xd3", "0x111", "0x132", "xclk", "pixformat", "framesize", "quality", "brightness",
    "contrast", "saturation", "sharpness", "special_effect", "wb_mode", "awb", "awb_gain", "aec",
    "aec2", "ae_level", "aec_value", "agc", "agc_gain", "gainceiling", "bpc", "wpc", "raw_gma",
    "lenc", "hmirror", "dcw", "colorbar", "led_intensity",
]  # fmt: skip


async def test_control_accepts_every_variable_of_the_table(cam: SimulatedCamera) -> None:
    values = {
        "framesize": 10, "quality": 20, "brightness": 1, "contrast": -1, "saturation": 2,
        "special_effect": 6, "awb": 0, "awb_gain": 0, "wb_mode": 3, "aec": 0, "aec2": 1,
        "ae_level": -2, "aec_value": 600, "agc": 0, "agc_gain": 15, "gainceiling": 4, "bpc": 1,
        "wpc": 0, "raw_gma": 0, "lenc": 0, "hmirror": 1, "vflip": 1, "dcw": 0, "colorbar": 1,
        "led_intensity": 255,
    }  # fmt: skip
    reader, writer = await asyncio.open_connection("127.0.0.1", cam.control_port)
    try:
        for var, val in values.items():
            writer.write(f"GET /control?var={var}&val={val} HTTP/1.1\r\nHost: cam\r\n\r\n".encode())
            head, body = await read_response(reader)
            assert head + body == OK_EMPTY, var
        assert not await is_closed(reader)  # one keep-alive connection served them all
    finally:
        writer.close()
    status = cam.status()
    for var, val in values.items():
        if var != "vflip":
            assert status[var] == val, var
    assert cam.frame_size == (640, 480)


@pytest.mark.parametrize(
    "target",
    [
        "/control",
        "/control?",
        "/control?var=quality",
        "/control?val=10",
        "/control?var=quality&value=10",
        "/control?var=" + "x" * 32 + "&val=1",  # does not fit the sketch's 32-byte buffer
    ],
)
async def test_control_without_var_or_val_is_404_and_closes(
    cam: SimulatedCamera, target: str
) -> None:
    head, body, closed = await http_exchange(cam, f"GET {target} HTTP/1.1\r\n\r\n".encode())
    assert head + body == NOT_FOUND
    assert closed


@pytest.mark.parametrize(
    "query",
    ["var=bogus&val=1", "var=sharpness&val=1", "var=denoise&val=1", "var=brightness&val=3",
     "var=special_effect&val=7", "var=wb_mode&val=-1"],
)  # fmt: skip
async def test_control_rejected_is_500_and_keeps_the_connection(
    cam: SimulatedCamera, query: str
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", cam.control_port)
    try:
        writer.write(f"GET /control?{query} HTTP/1.1\r\n\r\n".encode())
        head, body = await read_response(reader)
        assert head + body == SERVER_ERROR
        # The sketch returns ESP_OK after sending the 500: the socket stays usable.
        writer.write(b"GET /control?var=quality&val=30 HTTP/1.1\r\n\r\n")
        head, body = await read_response(reader)
        assert head + body == OK_EMPTY
    finally:
        writer.close()
    assert cam.status()["quality"] == 30


async def test_control_values_follow_atoi_and_the_drivers_rules(cam: SimulatedCamera) -> None:
    for query, var, expected in [
        ("var=quality&val=abc", "quality", 0),
        ("var=quality&val=17xyz", "quality", 17),
        ("VAR=quality&VAL=+9", "quality", 9),  # keys match case-insensitively
        ("var=agc_gain&val=99", "agc_gain", 30),  # clamped by the driver
        ("var=framesize&val=99", "framesize", 15),  # clamped to UXGA
        ("var=led_intensity&val=-1", "led_intensity", 2**32 - 1),  # printed with %u
    ]:
        head, _ = await get(cam, f"/control?{query}")
        assert head.startswith(b"HTTP/1.1 200 OK\r\n"), query
        assert cam.status()[var] == expected, query
    assert c_atoi("  -12ab") == -12
    assert c_atoi("99999999999") == 2**31 - 1
    assert query_value("foo&var=x", "var") is None  # esp_http_server's own parse
    assert query_value("a=1&var=framesize&val=6", "var") == "framesize"


async def test_framesize_changes_the_frames_new_enum(cam: SimulatedCamera) -> None:
    assert cam.status()["framesize"] == 11
    client = await StreamClient.open(cam)
    try:
        await client.head()
        assert decode((await client.frame())[0]).shape == (600, 800, 3)
        head, _ = await get(cam, "/control?var=framesize&val=6")
        assert head.startswith(b"HTTP/1.1 200 OK")
        sizes = [decode((await client.frame())[0]).shape[:2] for _ in range(4)]
    finally:
        client.close()
    # At most the frame already in flight keeps the old size.
    assert sizes[1:] == [(240, 320)] * 3, sizes
    assert cam.frame_size == (320, 240)
    assert cam.status()["framesize"] == 6


async def test_legacy_framesize_enum_maps_differently() -> None:
    async with simulator(legacy_framesize_enum=True) as cam:
        assert cam.status()["framesize"] == 9  # SVGA in the old table
        assert cam.frame_size == (800, 600)
        for val, size in [(6, (296, 400)), (5, (240, 320)), (13, (1200, 1600))]:
            await get(cam, f"/control?var=framesize&val={val}")
            _, jpeg = await get(cam, "/capture")
            assert decode(jpeg).shape[:2] == size, val


async def test_quality_changes_jpeg_size(cam: SimulatedCamera) -> None:
    sizes = {}
    for q in (10, 63):
        await get(cam, f"/control?var=quality&val={q}")
        _, jpeg = await get(cam, "/capture")
        sizes[q] = len(jpeg)
    assert sizes[63] < 0.6 * sizes[10], sizes


async def test_status_keys_order_and_bytes(cam: SimulatedCamera) -> None:
    head, body = await get(cam, "/status")
    assert head == (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(body)}\r\n".encode()
        + b"Access-Control-Allow-Origin: *\r\n\r\n"
    )
    assert body.startswith(b'{"0xd3":8,"0x111":0,"0x132":9,"xclk":20,"pixformat":4,')
    assert b" " not in body
    pairs = json.loads(body, object_pairs_hook=list)
    assert [k for k, _ in pairs] == STATUS_KEYS
    assert "vflip" not in dict(pairs)
    assert dict(pairs)["quality"] == 12


async def test_status_without_led_reports_minus_one() -> None:
    async with simulator(led_illuminator=False) as cam:
        _, body = await get(cam, "/status")
        assert body.endswith(b',"colorbar":0,"led_intensity":-1}')
        head, _ = await get(cam, "/control?var=led_intensity&val=10")
        assert head.startswith(b"HTTP/1.1 500 Internal Server Error\r\n")


async def test_capture_headers(cam: SimulatedCamera) -> None:
    head, jpeg = await get(cam, "/capture")
    m = re.fullmatch(
        rb"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: (\d+)\r\n"
        rb"Content-Disposition: inline; filename=capture.jpg\r\n"
        rb"Access-Control-Allow-Origin: \*\r\nX-Timestamp: (\d+)\.(\d{6})\r\n\r\n",
        head,
    )
    assert m is not None, head
    assert int(m.group(1)) == len(jpeg)
    assert abs(int(m.group(2)) - time.time()) < 2
    assert decode(jpeg).shape == (600, 800, 3)


async def test_capture_waits_for_the_flash_led() -> None:
    async with simulator(capture_led_delay=0.15) as cam:
        t0 = time.monotonic()
        await get(cam, "/capture")
        assert time.monotonic() - t0 >= 0.14


async def test_index_bmp_and_expert_endpoints(cam: SimulatedCamera) -> None:
    head, body = await get(cam, "/")
    assert b"Content-Type: text/html\r\n" in head and b"Content-Encoding: gzip\r\n" in head
    assert body[:2] == b"\x1f\x8b"
    head, body = await get(cam, "/bmp")
    assert b"Content-Type: image/x-windows-bmp\r\n" in head and body[:2] == b"BM"
    assert (await get(cam, "/reg?reg=211&mask=255&val=5"))[0].startswith(b"HTTP/1.1 200 OK")
    assert (await get(cam, "/greg?reg=211&mask=255"))[1] == b"5"
    assert cam.status()["0xd3"] == 5
    assert (await get(cam, "/xclk?xclk=10"))[0].startswith(b"HTTP/1.1 200 OK")
    assert cam.status()["xclk"] == 10
    assert (await get(cam, "/xclk"))[0].startswith(b"HTTP/1.1 404 Not Found")


async def test_unknown_path_method_and_malformed(cam: SimulatedCamera) -> None:
    head, body, closed = await http_exchange(cam, b"GET /nope HTTP/1.1\r\n\r\n")
    assert head + body == NOT_FOUND and closed
    head, body, closed = await http_exchange(cam, b"POST /status HTTP/1.1\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 405 Method Not Allowed\r\n") and closed
    head, body, closed = await http_exchange(cam, b"garbage\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 Bad Request\r\n") and closed
    head, body, closed = await http_exchange(cam, b"GET /status HTTP/2.0\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 505 Version Not Supported\r\n") and closed
    long = b"GET /" + b"a" * 600 + b" HTTP/1.1\r\n\r\n"
    head, body, closed = await http_exchange(cam, long)
    assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n") and closed
    # Only the two well-formed requests count; the malformed ones never got that far.
    assert cam.control_server.requests == 2


async def test_keep_alive_serves_several_requests(cam: SimulatedCamera) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", cam.control_port)
    try:
        writer.write(
            b"GET /status HTTP/1.1\r\n\r\nGET /control?var=quality&val=40 HTTP/1.1\r\n\r\n"
        )
        _, status = await read_response(reader)
        assert json.loads(status)["quality"] == 12
        head, body = await read_response(reader)
        assert head + body == OK_EMPTY
    finally:
        writer.close()
    assert cam.control_server.requests == 2
