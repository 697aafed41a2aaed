"""The simulated ESP32-CAM over real sockets on 127.0.0.1: bytes on the wire, behaviour, faults."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import re
import time
from collections.abc import AsyncIterator

import cv2
import numpy as np
import pytest

from relay import framecode
from relay.simulator import (
    Faults,
    RenderSettings,
    SceneRenderer,
    SimulatedCamera,
    SimulatorOptions,
    add_arguments,
    c_atoi,
    corrupt_jpeg,
    options_from_args,
    query_value,
    run_simulator,
)

BOUNDARY_CHUNK = b"\r\n--123456789000000000000987654321\r\n"
STREAM_HEAD = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: multipart/x-mixed-replace;boundary=123456789000000000000987654321\r\n"
    b"Transfer-Encoding: chunked\r\n"
    b"Access-Control-Allow-Origin: *\r\n"
    b"X-Framerate: 60\r\n"
    b"\r\n"
)
PART_RE = re.compile(
    rb"Content-Type: image/jpeg\r\nContent-Length: (\d+)\r\nX-Timestamp: (\d+)\.(\d{6})\r\n\r\n"
)
OK_EMPTY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 0\r\n"
    b"Access-Control-Allow-Origin: *\r\n\r\n"
)
NOT_FOUND = (
    b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 29\r\n\r\n"
    b"Nothing matches the given URI"
)
SERVER_ERROR = (
    b"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/html\r\nContent-Length: 42\r\n\r\n"
    b"Server has encountered an unexpected error"
)
STATUS_KEYS = [
    "0xd3", "0x111", "0x132", "xclk", "pixformat", "framesize", "quality", "brightness",
    "contrast", "saturation", "sharpness", "special_effect", "wb_mode", "awb", "awb_gain", "aec",
    "aec2", "ae_level", "aec_value", "agc", "agc_gain", "gainceiling", "bpc", "wpc", "raw_gma",
    "lenc", "hmirror", "dcw", "colorbar", "led_intensity",
]  # fmt: skip
TIMEOUT = 5.0


def options(**kw: object) -> SimulatorOptions:
    base: dict[str, object] = {"control_port": 0, "stream_port": 0, "capture_led_delay": 0.0}
    base.update(kw)
    return SimulatorOptions(**base)  # type: ignore[arg-type]


@contextlib.asynccontextmanager
async def simulator(**kw: object) -> AsyncIterator[SimulatedCamera]:
    cam = SimulatedCamera(options(**kw))
    await cam.start()
    try:
        yield cam
    finally:
        await cam.stop()


@pytest.fixture
async def cam() -> AsyncIterator[SimulatedCamera]:
    async with simulator() as c:
        yield c


# ---------------------------------------------------------------- raw HTTP clients


class StreamClient:
    """Reads /stream byte by byte, checking the chunked layout strictly."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, cam: SimulatedCamera, path: str = "/stream") -> StreamClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", cam.stream_port)
        writer.write(f"GET {path} HTTP/1.1\r\nHost: cam\r\n\r\n".encode())
        await writer.drain()
        return cls(reader, writer)

    async def head(self) -> bytes:
        return await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), TIMEOUT)

    async def chunk(self) -> bytes:
        line = await asyncio.wait_for(self.reader.readuntil(b"\r\n"), TIMEOUT)
        size = int(line[:-2], 16)
        assert line == f"{size:x}\r\n".encode(), line  # lowercase hex, no extensions
        data = await asyncio.wait_for(self.reader.readexactly(size), TIMEOUT)
        assert await asyncio.wait_for(self.reader.readexactly(2), TIMEOUT) == b"\r\n"
        return data

    async def frame(self) -> tuple[bytes, float, float]:
        """One frame: (jpeg, X-Timestamp, arrival time), checking the three chunks."""
        assert await self.chunk() == BOUNDARY_CHUNK
        part = await self.chunk()
        m = PART_RE.fullmatch(part)
        assert m is not None, part
        jpeg = await self.chunk()
        arrived = time.time()
        assert len(jpeg) == int(m.group(1))
        return jpeg, int(m.group(2)) + int(m.group(3)) / 1e6, arrived

    def close(self) -> None:
        self.writer.close()


async def http_exchange(
    cam: SimulatedCamera, raw: bytes, port: int | None = None, check_closed: bool = True
) -> tuple[bytes, bytes, bool]:
    """Send one raw request; return (head, body, whether the server closed after it)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port or cam.control_port)
    try:
        writer.write(raw)
        await writer.drain()
        head, body = await read_response(reader)
        closed = await is_closed(reader) if check_closed else False
        return head, body, closed
    finally:
        writer.close()


async def read_response(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)
    m = re.search(rb"\r\nContent-Length: (\d+)\r\n", head)
    assert m is not None, head
    body = await asyncio.wait_for(reader.readexactly(int(m.group(1))), TIMEOUT)
    return head, body


async def is_closed(reader: asyncio.StreamReader, wait: float = 0.3) -> bool:
    try:
        data = await asyncio.wait_for(reader.read(1), wait)
    except TimeoutError:
        return False
    except ConnectionError:
        return True
    assert data == b"", data
    return True


async def get(cam: SimulatedCamera, target: str) -> tuple[bytes, bytes]:
    request = f"GET {target} HTTP/1.1\r\nHost: cam\r\n\r\n".encode()
    head, body, _ = await http_exchange(cam, request, check_closed=False)
    return head, body


def decode(jpeg: bytes) -> np.ndarray:
    img = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert img is not None
    return img


# ---------------------------------------------------------------- the stream


async def test_stream_bytes_headers_and_chunks(cam: SimulatedCamera) -> None:
    client = await StreamClient.open(cam)
    try:
        assert await client.head() == STREAM_HEAD
        counters = []
        for _ in range(6):
            jpeg, stamp, arrived = await client.frame()
            assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
            img = decode(jpeg)
            assert img.shape == (600, 800, 3)
            send_ms, counter = framecode.read_code(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY))
            counters.append(counter)
            # The code holds the send moment: within a second of now, not in the future.
            lag = framecode.elapsed_ms(send_ms, int(arrived * 1000))
            assert -5 <= lag < 1000, lag
            # X-Timestamp and the code tell the same moment.
            assert abs(framecode.elapsed_ms(send_ms, int(stamp * 1000))) <= 1
        assert counters == list(range(counters[0], counters[0] + 6))
    finally:
        client.close()
    assert cam.frames_sent >= 6


async def test_frames_are_rendered_for_their_send_moment(cam: SimulatedCamera) -> None:
    client = await StreamClient.open(cam)
    try:
        await client.head()
        lags = []
        for _ in range(12):
            jpeg, _, arrived = await client.frame()
            send_ms, _ = framecode.read_code(decode(jpeg))
            lags.append(framecode.elapsed_ms(send_ms, int(arrived * 1000)))
        # Stamped just before the bytes left: neither stale by a render time nor future.
        assert min(lags) >= -3, lags
        assert sorted(lags)[len(lags) // 2] <= 20, lags
    finally:
        client.close()


async def test_pacing_follows_a_monotonic_schedule() -> None:
    async with simulator(fps=25.0) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            stamps = [(await client.frame())[1] for _ in range(26)]
        finally:
            client.close()
    intervals = np.diff(stamps)
    assert abs(float(np.median(intervals)) - 0.040) < 0.002, intervals
    # Every send time lies on one 40 ms grid: no drift accumulates. (On a busy machine a
    # late frame may miss its slot; the next one is back on the grid.)
    offsets = [(s - stamps[0]) / 0.040 for s in stamps]
    on_grid = [abs(o - round(o)) * 40 < 2 for o in offsets]
    assert sum(on_grid) >= 23, offsets
    assert on_grid[-1] and round(offsets[-1]) <= 27, offsets


async def test_consecutive_frames_differ(cam: SimulatedCamera) -> None:
    client = await StreamClient.open(cam)
    try:
        await client.head()
        a = decode((await client.frame())[0]).astype(np.int16)
        b = decode((await client.frame())[0]).astype(np.int16)
    finally:
        client.close()
    below_code = slice(framecode.block_height(800), None)
    assert np.abs(a[below_code] - b[below_code]).max() > 100


async def test_second_stream_client_waits_until_the_first_leaves(cam: SimulatedCamera) -> None:
    first = await StreamClient.open(cam)
    await first.head()
    await first.frame()
    second = await StreamClient.open(cam)
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(second.reader.read(1), 0.5)
    assert cam.stream_clients_waited == 1
    first.close()
    try:
        assert await second.head() == STREAM_HEAD
        jpeg, _, _ = await second.frame()
        assert decode(jpeg).shape == (600, 800, 3)
    finally:
        second.close()
    assert cam.stream_clients_served == 2


async def test_stream_clients_beyond_the_backlog_are_refused() -> None:
    async with simulator(stream_backlog=1) as cam:
        first = await StreamClient.open(cam)
        await first.head()
        second = await StreamClient.open(cam)
        await asyncio.sleep(0.1)
        third = await StreamClient.open(cam)
        try:
            assert await is_closed(third.reader, wait=2.0)
            assert cam.stream_clients_refused == 1
            assert cam.stream_clients_waited == 1
        finally:
            for c in (first, second, third):
                c.close()


async def test_stream_server_knows_only_stream(cam: SimulatedCamera) -> None:
    head, body, closed = await http_exchange(
        cam, b"GET /status HTTP/1.1\r\n\r\n", port=cam.stream_port
    )
    assert head + body == NOT_FOUND
    assert closed


# ---------------------------------------------------------------- control


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
    assert cam.control_requests == 2


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
    assert cam.control_requests == 2


async def test_effects_visibly_apply(cam: SimulatedCamera) -> None:
    await get(cam, "/control?var=special_effect&val=2")
    img = decode((await get(cam, "/capture"))[1]).astype(np.int16)
    chroma = np.abs(img[..., 0] - img[..., 2]).mean() + np.abs(img[..., 1] - img[..., 2]).mean()
    assert chroma < 3, chroma
    await get(cam, "/control?var=special_effect&val=0")
    img = decode((await get(cam, "/capture"))[1]).astype(np.int16)
    assert np.abs(img[..., 0] - img[..., 2]).mean() > 10


def test_mirror_and_flip_apply_below_the_code() -> None:
    renderer = SceneRenderer()
    wall = 1_700_000_000.25
    plain = renderer.image(RenderSettings(), wall, 7)
    bh = framecode.block_height(800)
    rows = slice(bh, 600 - bh)  # the code is drawn after flipping: leave out both bands
    for settings, flip in [
        (RenderSettings(hmirror=True), 1),
        (RenderSettings(vflip=True), 0),
        (RenderSettings(hmirror=True, vflip=True), -1),
    ]:
        img = renderer.image(settings, wall, 7)
        expected = cv2.flip(plain, flip)
        assert np.array_equal(img[rows], expected[rows])
        assert not np.array_equal(img[rows], plain[rows])
        # The code itself is never mirrored: it still reads.
        assert framecode.read_code(img) == (int(wall * 1000) % 2**32, 7)


async def test_stop_leaves_no_tasks_and_closes_connections(
    caplog: pytest.LogCaptureFixture,
) -> None:
    before = asyncio.all_tasks()
    cam = SimulatedCamera(options())
    await cam.start()
    streaming = await StreamClient.open(cam)
    await streaming.head()
    waiting = await StreamClient.open(cam)
    reader, writer = await asyncio.open_connection("127.0.0.1", cam.control_port)
    writer.write(b"GET /status HTTP/1.1\r\n\r\n")
    await read_response(reader)  # keep-alive: the connection stays open
    await asyncio.sleep(0.1)
    await cam.stop()
    assert asyncio.all_tasks() == before
    await asyncio.sleep(0.05)  # let transports and callbacks finish
    assert not [r for r in caplog.records if r.levelname in ("ERROR", "CRITICAL")]
    for r in (streaming.reader, waiting.reader, reader):
        with contextlib.suppress(ConnectionError):
            await asyncio.wait_for(r.read(), TIMEOUT)
        assert r.at_eof() or r.exception() is not None
    with pytest.raises(OSError):
        await asyncio.open_connection("127.0.0.1", cam.control_port)
    for w in (streaming.writer, waiting.writer, writer):
        w.close()


# ---------------------------------------------------------------- firmware variants


async def test_legacy_stream_format() -> None:
    async with simulator(legacy_stream_format=True) as cam:
        client = await StreamClient.open(cam)
        try:
            assert await client.head() == STREAM_HEAD
            for _ in range(2):
                part = await client.chunk()
                m = re.fullmatch(
                    rb"Content-Type: image/jpeg\r\nContent-Length: (\d+)\r\n\r\n", part
                )
                assert m is not None, part
                jpeg = await client.chunk()
                assert len(jpeg) == int(m.group(1)) and jpeg[:2] == b"\xff\xd8"
                assert await client.chunk() == BOUNDARY_CHUNK
        finally:
            client.close()


async def test_no_status_line() -> None:
    async with simulator(no_status_line=True) as cam:
        client = await StreamClient.open(cam)
        try:
            assert await client.head() == STREAM_HEAD[len(b"HTTP/1.1 200 OK\r\n") :]
            await client.frame()
        finally:
            client.close()


# ---------------------------------------------------------------- faults


async def test_fault_drop_mid_frame() -> None:
    async with simulator(faults=Faults(drop_every=3)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            await client.frame()
            await client.frame()
            assert await client.chunk() == BOUNDARY_CHUNK
            m = PART_RE.fullmatch(await client.chunk())
            assert m is not None
            line = await client.reader.readuntil(b"\r\n")
            assert int(line[:-2], 16) == int(m.group(1))
            rest = b""
            with contextlib.suppress(ConnectionError):
                rest = await asyncio.wait_for(client.reader.read(), TIMEOUT)
            assert 0 < len(rest) < int(m.group(1))
            assert rest[:2] == b"\xff\xd8"
        finally:
            client.close()
        assert cam.frames_sent == 2


async def test_fault_stall() -> None:
    async with simulator(faults=Faults(stall_every=2, stall_seconds=0.5)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            arrivals = [(await client.frame())[2] for _ in range(3)]
        finally:
            client.close()
    assert arrivals[1] - arrivals[0] >= 0.45
    assert arrivals[2] - arrivals[1] < 0.2


async def test_fault_garbage_between_parts() -> None:
    async with simulator(faults=Faults(garbage_every=2, garbage_bytes=50)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            await client.frame()
            junk = await client.chunk()
            assert len(junk) == 50 and junk != BOUNDARY_CHUNK
            await client.frame()
        finally:
            client.close()


async def test_fault_corrupt_keeps_structure_damages_data() -> None:
    async with simulator(faults=Faults(corrupt_every=1)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            jpeg, _, _ = await client.frame()
        finally:
            client.close()
    assert jpeg[:2] == b"\xff\xd8" and jpeg[-2:] == b"\xff\xd9"
    img = SceneRenderer().image(RenderSettings(), 1_700_000_000.0, 1)
    clean = cv2.imencode(".jpg", img, [cv2.IMWRITE_JPEG_QUALITY, 84])[1].tobytes()
    bad = corrupt_jpeg(clean, random.Random(3))
    assert len(bad) == len(clean) and bad != clean
    markers = [i for i, b in enumerate(clean) if b == 0xFF]
    assert [i for i, b in enumerate(bad) if b == 0xFF] == markers
    assert not np.array_equal(decode(bad), decode(clean))


async def test_fault_truncate() -> None:
    async with simulator(faults=Faults(truncate_every=2)) as cam:
        client = await StreamClient.open(cam)
        try:
            await client.head()
            whole, _, _ = await client.frame()
            cut, _, _ = await client.frame()  # frame() checks Content-Length == chunk size
            after, _, _ = await client.frame()
        finally:
            client.close()
    assert whole[-2:] == b"\xff\xd9" and after[-2:] == b"\xff\xd9"
    assert cut[:2] == b"\xff\xd8" and b"\xff\xd9" not in cut[-2:]
    assert len(cut) < 0.8 * len(whole)


async def test_fault_reboot_refuses_then_comes_back_with_defaults() -> None:
    async with simulator(faults=Faults(reboot_every=2, reboot_seconds=0.6)) as cam:
        await get(cam, "/control?var=quality&val=30")
        client = await StreamClient.open(cam)
        try:
            await client.head()
            await client.frame()
            await client.frame()
            assert await is_closed(client.reader, wait=2.0)
        finally:
            client.close()
        await asyncio.sleep(0.05)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.control_port)
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.stream_port)
        await asyncio.sleep(0.8)
        assert cam.is_up and cam.reboots == 1
        _, body = await get(cam, "/status")
        assert json.loads(body)["quality"] == 12


async def test_fault_refuse_first_seconds() -> None:
    async with simulator(faults=Faults(refuse_first_seconds=0.4)) as cam:
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.control_port)
        await asyncio.sleep(0.6)
        head, _ = await get(cam, "/status")
        assert head.startswith(b"HTTP/1.1 200 OK")


async def test_fault_stream_http_500() -> None:
    async with simulator(faults=Faults(stream_http_500=True)) as cam:
        head, body, closed = await http_exchange(
            cam, b"GET /stream HTTP/1.1\r\n\r\n", port=cam.stream_port
        )
        assert head + body == SERVER_ERROR and closed


async def test_fault_slow_drip() -> None:
    async with simulator(framesize=1, faults=Faults(drip_bytes_per_second=20_000)) as cam:
        client = await StreamClient.open(cam)
        try:
            t0 = time.monotonic()
            await client.head()
            jpeg, _, _ = await client.frame()
            took = time.monotonic() - t0
        finally:
            client.close()
    # QQVGA: a few kB at 20 kB/s, in small pieces.
    assert took >= 0.8 * len(jpeg) / 20_000, (took, len(jpeg))


# ---------------------------------------------------------------- entry points


async def test_run_simulator_prints_urls_and_stops(capsys: pytest.CaptureFixture[str]) -> None:
    before = asyncio.all_tasks()
    task = asyncio.create_task(run_simulator(options()))
    url = None
    for _ in range(100):
        await asyncio.sleep(0.02)
        m = re.search(r"http://127\.0\.0\.1:(\d+)/stream", capsys.readouterr().out)
        if m:
            url = m
            break
    assert url is not None
    reader, writer = await asyncio.open_connection("127.0.0.1", int(url.group(1)))
    writer.write(b"GET /stream HTTP/1.1\r\n\r\n")
    assert await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT) == STREAM_HEAD
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    writer.close()
    assert asyncio.all_tasks() == before


def test_command_line_options() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    opts = options_from_args(
        parser.parse_args(
            ["--port", "8000", "--framesize", "qvga", "--drop-every", "3", "--stream-500"]
        )
    )
    assert (opts.control_port, opts.stream_port) == (8000, 8001)  # stream on port + 1
    assert opts.framesize == 6
    assert opts.faults.drop_every == 3 and opts.faults.stream_http_500
    legacy = options_from_args(
        parser.parse_args(["--framesize", "QVGA", "--legacy-framesize-enum"])
    )
    assert legacy.framesize == 5 and legacy.stream_port == 81


# ---------------------------------------------------------------- control server faults


async def _control_reply(cam: SimulatedCamera, target: str) -> bytes | None:
    """The whole answer to one request on a fresh connection; None if it was reset unanswered."""
    reader, writer = await asyncio.open_connection("127.0.0.1", cam.control_port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: cam\r\n\r\n".encode())
        await writer.drain()
        try:
            head, body = await read_response(reader)
        except (asyncio.IncompleteReadError, ConnectionError):
            return None
        return head + body
    finally:
        writer.close()


async def test_fault_control_500_applies_nothing() -> None:
    async with simulator(faults=Faults(control_500_every=2)) as cam:
        assert await _control_reply(cam, "/control?var=brightness&val=1") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=brightness&val=2") == SERVER_ERROR
        assert (await _control_reply(cam, "/status") or b"").startswith(b"HTTP/1.1 200 OK")
        assert cam.status()["brightness"] == 1
        assert await _control_reply(cam, "/control?var=brightness&val=-1") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=contrast&val=1") == SERVER_ERROR
        assert (cam.status()["brightness"], cam.status()["contrast"]) == (-1, 0)
        assert [(r.path, r.status) for r in cam.control_log] == [
            ("/control", 200),
            ("/control", 500),
            ("/status", 200),
            ("/control", 200),
            ("/control", 500),
        ]
        assert cam.control_log[0].query == "var=brightness&val=1"


async def test_fault_control_reset_counts_every_request() -> None:
    async with simulator(faults=Faults(control_reset_every=2)) as cam:
        assert await _control_reply(cam, "/control?var=awb&val=0") == OK_EMPTY
        assert await _control_reply(cam, "/status") is None
        assert await _control_reply(cam, "/control?var=awb_gain&val=0") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=agc&val=0") is None
        status = cam.status()
        assert (status["awb"], status["awb_gain"], status["agc"]) == (0, 0, 1)
        assert [r.status for r in cam.control_log] == [200, None, 200, None]


async def test_fault_control_delay_holds_the_whole_control_server() -> None:
    async with simulator(faults=Faults(control_delay_every=1, control_delay_seconds=0.4)) as cam:
        t0 = time.monotonic()
        slow = asyncio.create_task(_control_reply(cam, "/control?var=quality&val=30"))
        await asyncio.sleep(0.05)
        status = await _control_reply(cam, "/status")  # waits: one request at a time
        took = time.monotonic() - t0
        assert await slow == OK_EMPTY
        assert status is not None and b'"quality":30' in status
        assert 0.38 <= took < 1.5


async def test_fault_control_outage_refuses_then_comes_back_with_settings() -> None:
    async with simulator(faults=Faults(control_outage_every=2, control_outage_seconds=0.5)) as cam:
        stream = await StreamClient.open(cam)
        await stream.head()
        await stream.frame()
        assert await _control_reply(cam, "/control?var=hmirror&val=1") == OK_EMPTY
        assert await _control_reply(cam, "/control?var=vflip&val=1") is None
        await asyncio.sleep(0.05)
        assert not cam.control_is_up and cam.control_outages == 1
        with pytest.raises(ConnectionRefusedError):
            await asyncio.open_connection("127.0.0.1", cam.control_port)
        await stream.frame()  # the stream carries on
        deadline = time.monotonic() + 3
        while not cam.control_is_up and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert cam.control_is_up
        status = await _control_reply(cam, "/status")
        assert status is not None and b'"hmirror":1' in status  # settings kept
        assert cam.status()["hmirror"] == 1
        stream.close()


def test_control_fault_command_line_options() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    opts = options_from_args(
        parser.parse_args(
            ["--control-500-every", "3", "--control-reset-every", "4", "--control-delay-every",
             "5", "--control-delay", "6.5", "--control-outage-every", "7",
             "--control-outage-seconds", "1.5"]
        )
    )  # fmt: skip
    f = opts.faults
    assert (f.control_500_every, f.control_reset_every, f.control_delay_every) == (3, 4, 5)
    assert (f.control_delay_seconds, f.control_outage_every, f.control_outage_seconds) == (
        6.5,
        7,
        1.5,
    )
    assert "control_500_every=3" in f.describe()
