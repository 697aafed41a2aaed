"""One source's viewers on the direct RTP path: packetize once, write to each."""

from __future__ import annotations

import random
import time
from typing import Any, Protocol

from .internals import current_ntp_time
from .rtpwriter import RtpWriter, packetize_vp8
from .source import EncodedVideo, PacketSubscription


class PacketSource(Protocol):
    """What a viewer's track and the broadcast need from upstream (one camera's frames)."""

    def subscribe(self) -> PacketSubscription: ...

    def add_sink(self, sink: RtpBroadcast) -> None: ...

    def remove_sink(self, sink: RtpBroadcast) -> None: ...

    def request_keyframe(self, reason: str) -> None: ...

    def delivered(self, frame: Any, now: float) -> None: ...  # a frame it gave out


class _Viewer:
    __slots__ = ("writer", "need_keyframe")

    def __init__(self, writer: RtpWriter) -> None:
        self.writer = writer
        self.need_keyframe = True  # a viewer's first frame must be a keyframe


class RtpBroadcast:
    """Registered as a sink on a source while it has viewers."""

    def __init__(self, source: PacketSource) -> None:
        self._source = source
        self._viewers: list[_Viewer] = []
        self._picture_id = random.getrandbits(15)
        self._turn = 0
        self.frames = 0

    def __len__(self) -> int:
        return len(self._viewers)

    def add(self, writer: RtpWriter) -> None:
        if not self._viewers:
            self._source.add_sink(self)
        self._viewers.append(_Viewer(writer))
        self._source.request_keyframe("viewer joined")

    def remove(self, writer: RtpWriter) -> None:
        writer.close()
        self._viewers = [v for v in self._viewers if v.writer is not writer]
        if not self._viewers:
            self._source.remove_sink(self)

    def deliver(self, frame: EncodedVideo) -> None:
        """Called on the event loop for every encoded frame of the source."""
        viewers = self._viewers
        if not viewers:
            return
        self.frames += 1
        payloads = packetize_vp8(bytes(frame.packet), self._picture_id)
        self._picture_id = (self._picture_id + 1) & 0x7FFF
        timestamp = int(frame.packet.pts or 0)
        ntp = current_ntp_time()
        # Start with a different viewer each frame: no viewer is always served last.
        self._turn = (self._turn + 1) % len(viewers)
        dead: list[RtpWriter] = []
        for v in viewers[self._turn :] + viewers[: self._turn]:
            if v.need_keyframe:
                if not frame.keyframe:
                    continue
                v.need_keyframe = False
            if v.writer.send_frame(payloads, timestamp, ntp):
                self._source.delivered(frame, time.perf_counter())
            else:
                dead.append(v.writer)
        for writer in dead:
            self.remove(writer)
