"""A WHEP viewer built on aiortc: a real peer that decodes what the relay sends.

Used by the tests and the benchmarks.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import av
import numpy as np
from aiortc import (
    RTCConfiguration,
    RTCDataChannel,
    RTCIceServer,
    RTCIceTransportPolicy,
    RTCPeerConnection,
    RTCRtpReceiver,
    RTCSessionDescription,
)
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from signaling import internals

from ..video.framecode import read_code


@dataclass
class ReceivedFrame:
    width: int
    height: int
    counter: int
    send_ms: int
    arrived: float  # time.time()
    key_frame: bool
    chroma: float = -1.0  # mean |U - 128| + |V - 128| when measured: 0 for a grey picture


@dataclass
class WhepViewer:
    """Negotiates with a WHEP endpoint and records every decoded frame."""

    endpoint: str
    decode_code: bool = True
    measure_chroma: bool = False
    token: str | None = None  # sent as `Authorization: Bearer`
    ice_servers: list[RTCIceServer] = field(default_factory=list)
    relay_only: bool = False  # only TURN-relayed candidates, like iceTransportPolicy "relay"
    pc: RTCPeerConnection = field(init=False)
    frames: list[ReceivedFrame] = field(default_factory=list)
    location: str | None = None
    receiver: RTCRtpReceiver | None = None
    _task: asyncio.Task[None] | None = None
    _new_frame: asyncio.Event = field(default_factory=asyncio.Event)
    # The `control` data channel, when connect(channel=True); every message it received.
    channel: RTCDataChannel | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    _new_message: asyncio.Event = field(default_factory=asyncio.Event)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def __post_init__(self) -> None:
        policy = RTCIceTransportPolicy.RELAY if self.relay_only else RTCIceTransportPolicy.ALL
        self.pc = RTCPeerConnection(
            RTCConfiguration(iceServers=list(self.ice_servers), iceTransportPolicy=policy)
        )

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    async def connect(self, session: aiohttp.ClientSession, channel: bool = False) -> None:
        pc = self.pc
        self.receiver = pc.addTransceiver("video", direction="recvonly").receiver
        if channel:
            self.channel = pc.createDataChannel("control")

            @self.channel.on("message")
            def _on_message(data: str | bytes) -> None:
                self.messages.append(json.loads(data))
                self._new_message.set()

        @pc.on("track")
        def _on_track(track: MediaStreamTrack) -> None:
            self._task = asyncio.ensure_future(self._consume(track))

        await pc.setLocalDescription(await pc.createOffer())
        async with session.post(
            self.endpoint,
            data=pc.localDescription.sdp,
            headers={"Content-Type": "application/sdp", **self.headers()},
        ) as resp:
            body = await resp.text()
            if resp.status != 201:
                raise RuntimeError(f"WHEP answered {resp.status}: {body}")
            loc = resp.headers["Location"]
            self.location = str(resp.url.join(aiohttp.client.URL(loc)))
        await pc.setRemoteDescription(RTCSessionDescription(sdp=body, type="answer"))

    async def _consume(self, track: MediaStreamTrack) -> None:
        with contextlib.suppress(MediaStreamError):
            while True:
                frame = await track.recv()
                assert isinstance(frame, av.VideoFrame)
                arrived = time.time()
                send_ms = counter = -1
                if self.decode_code:
                    luma = np.frombuffer(memoryview(frame.planes[0]), np.uint8).reshape(
                        frame.height, frame.planes[0].line_size
                    )[:, : frame.width]
                    send_ms, counter = read_code(luma)
                chroma = _chroma(frame) if self.measure_chroma else -1.0
                self.frames.append(
                    ReceivedFrame(
                        frame.width,
                        frame.height,
                        counter,
                        send_ms,
                        arrived,
                        frame.key_frame,
                        chroma,
                    )
                )
                self._new_frame.set()

    async def wait_frames(
        self, n: int, timeout: float, where=lambda f: True
    ) -> list[ReceivedFrame]:
        """Wait until ``n`` frames matching ``where`` arrived (counting from now)."""
        start = len(self.frames)
        deadline = time.monotonic() + timeout
        while True:
            got = [f for f in self.frames[start:] if where(f)]
            if len(got) >= n:
                return got
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(
                    f"{len(got)}/{n} frames in {timeout} s (total {len(self.frames)}, "
                    f"state {self.pc.connectionState})"
                )
            self._new_frame.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_frame.wait(), remaining)

    async def wait_size(
        self, width: int, height: int, n: int = 1, timeout: float = 15.0
    ) -> list[ReceivedFrame]:
        """Wait for ``n`` frames of that size: a new viewer starts on a cheaper rung and is
        probed up to the full layer, where a LAN viewer settles."""
        return await self.wait_frames(
            n, timeout, where=lambda f: (f.width, f.height) == (width, height)
        )

    async def wait_message(
        self, where: Callable[[dict[str, Any]], bool], timeout: float = 10.0, start: int = 0
    ) -> dict[str, Any]:
        """The first control message from index ``start`` on that matches ``where``."""
        deadline = time.monotonic() + timeout
        while True:
            for msg in self.messages[start:]:
                if where(msg):
                    return msg
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no matching control message in {timeout} s")
            self._new_message.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_message.wait(), remaining)

    def send(self, message: dict[str, Any] | str) -> Any:
        """Send one control message (an object gets a fresh id unless it has one); its id."""
        assert self.channel is not None
        if isinstance(message, str):
            self.channel.send(message)
            return None
        message = {"id": next(self._ids), **message}
        self.channel.send(json.dumps(message))
        return message["id"]

    async def request(self, message: dict[str, Any], timeout: float = 10.0) -> dict[str, Any]:
        """Send a control request and wait for the reply with its id."""
        start = len(self.messages)
        rid = self.send(message)
        return await self.wait_message(
            lambda m: "op" not in m and m.get("id") == rid, timeout, start
        )

    async def send_pli(self) -> None:
        """Ask the sender for a keyframe, as a browser does after packet loss."""
        assert self.receiver is not None
        await internals.send_pli(self.receiver)

    async def close(self, session: aiohttp.ClientSession | None = None) -> None:
        if session is not None and self.location:
            with contextlib.suppress(aiohttp.ClientError):
                async with session.delete(self.location, headers=self.headers()):
                    pass
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.pc.close()


def _chroma(frame: av.VideoFrame) -> float:
    """How far from grey a yuv420p frame is: mean distance of its chroma from 128."""
    total = 0.0
    for plane in frame.planes[1:3]:
        rows = np.frombuffer(memoryview(plane), np.uint8).reshape(plane.height, plane.line_size)
        total += float(np.abs(rows[::2, : plane.width : 2].astype(np.int16) - 128).mean())
    return total
