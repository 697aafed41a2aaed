"""One source's viewers on the direct RTP path: packetize each layer's frame once, write
it to each viewer of that layer.

Per viewer, every frame: the viewer's adaptation (:mod:`signaling.adaptation`) names its
rung; a viewer moving to another layer keeps its old layer's frames until the new layer's
keyframe, which then replaces them (its RTP sequence numbers, timestamps and picture IDs
run on, so the receiver sees one stream changing size). Frames above the rung's temporal
layer are left out for it. A viewer whose socket queue still holds data when a frame comes
gets no frame until the next keyframe: what it cannot take is dropped, never queued.

A viewer being probed gets its padding right after each picture, the frames it skips
included, for the time since its last: behind the frame's packets in a bottleneck's
queue, where it is dropped first. Paced by a 20 ms timer instead, padding filled the queue
between frames and the next frame's packets were dropped: an aiortc viewer behind
1 Mbit/s froze for 10 s twice in 40 s. Sent only with the viewer's own frames, a 5 fps
camera's half-rate rung (a frame each 400 ms) could not pad to the top rung's rate.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from .adaptation import PACKET_OVERHEAD
from .internals import current_ntp_time
from .rtpwriter import RtpWriter, packetize_vp8
from .source import EncodedVideo, PacketSubscription, RungInfo

if TYPE_CHECKING:
    from .tracks import PacketTrack

log = logging.getLogger(__name__)

MAX_BACKLOG = 64 * 1024  # bytes in a viewer's socket queue past which its frames are dropped
# Padding goes with pictures: at most this many seconds' worth each (a 5 fps camera's
# pictures come every 200 ms; after a stall, no second's worth at once).
PAD_INTERVAL_MAX = 0.25


class PacketSource(Protocol):
    """What a viewer's track and the broadcast need from upstream (one camera's frames)."""

    adaptive: bool  # whether viewers move between rungs by their links

    def subscribe(self, layer: int = 0) -> PacketSubscription: ...

    def add_sink(self, sink: RtpBroadcast) -> None: ...

    def remove_sink(self, sink: RtpBroadcast) -> None: ...

    def request_keyframe(self, reason: str, layer: int | None = None) -> None: ...

    def rungs(self) -> Sequence[RungInfo]: ...

    def delivered(self, frame: Any, now: float) -> None: ...  # a frame it gave out


class _Viewer:
    __slots__ = ("writer", "track", "need_keyframe", "asked", "last_padded")

    def __init__(self, writer: RtpWriter, track: PacketTrack) -> None:
        self.writer = writer
        self.track = track
        self.need_keyframe = True  # a viewer's first frame must be a keyframe
        self.asked = -1  # the layer whose keyframe was last asked for this viewer
        self.last_padded = 0.0  # when padding was last sent (0: not probing)


class RtpBroadcast:
    """Registered as a sink on a source while it has viewers."""

    def __init__(self, source: PacketSource) -> None:
        self._source = source
        self._viewers: list[_Viewer] = []
        self._turn = 0
        self.frames = 0
        self.dropped = 0  # frames left out for a viewer whose socket queue was full

    def __len__(self) -> int:
        return len(self._viewers)

    @property
    def source(self) -> PacketSource:
        return self._source

    def add(self, writer: RtpWriter, track: PacketTrack) -> None:
        if not self._viewers:
            self._source.add_sink(self)
        self._viewers.append(_Viewer(writer, track))
        self._source.request_keyframe("viewer joined", track.layer)

    def remove(self, writer: RtpWriter) -> None:
        writer.close()
        self._viewers = [v for v in self._viewers if v.writer is not writer]
        if not self._viewers:
            self._source.remove_sink(self)

    def wanted_layers(self) -> set[int]:
        wanted: set[int] = set()
        for v in self._viewers:
            wanted.add(v.track.layer)
            wanted.add(v.track.rung().layer)
        return wanted

    def deliver(self, frame: EncodedVideo) -> None:
        self.deliver_picture([frame])

    def deliver_picture(self, frames: Sequence[EncodedVideo]) -> None:
        """Called on the event loop with one picture's frames, one per layer encoded.

        Each viewer gets at most one of them: two frames of one picture would share an
        RTP timestamp, and the receiver would join them into one undecodable frame.
        """
        viewers = self._viewers
        if not viewers or not frames:
            return
        self.frames += 1
        by_layer = {f.layer: f for f in frames}
        payloads: dict[int, list[bytes]] = {}
        timestamp = int(frames[0].packet.pts or 0)
        ntp = current_ntp_time()
        now = time.monotonic()
        # Start with a different viewer each frame: no viewer is always served last.
        self._turn = (self._turn + 1) % len(viewers)
        dead: list[RtpWriter] = []
        for v in viewers[self._turn :] + viewers[: self._turn]:
            try:
                alive = self._serve(v, by_layer, payloads, timestamp, ntp, now)
                if alive:
                    self._pad(v, now, ntp)
            except Exception:
                # A fault in one viewer's path ends that viewer, not the others' frames.
                log.exception("viewer ssrc %d: sending failed; it is dropped", v.writer.ssrc)
                alive = False
            if not alive:
                dead.append(v.writer)
        for writer in dead:
            self.remove(writer)

    def _pad(self, v: _Viewer, now: float, ntp: int) -> None:
        """Padding for a viewer being probed, for the time since its last."""
        adaptation = v.track.adaptation
        pad = adaptation.padding(now)
        if not pad:
            v.last_padded = 0.0
            return
        if v.writer.backlog() > MAX_BACKLOG:
            return  # its socket is full already: padding would only queue
        interval = min(now - v.last_padded, PAD_INTERVAL_MAX) if v.last_padded else 0.04
        v.last_padded = now
        adaptation.on_sent(0, v.writer.pad(int(pad * interval / 8), ntp), now)

    def _serve(
        self,
        v: _Viewer,
        by_layer: dict[int, EncodedVideo],
        payloads: dict[int, list[bytes]],
        timestamp: int,
        ntp: int,
        now: float,
    ) -> bool:
        """Send this viewer its frame of the picture, if any; False when it is gone."""
        track = v.track
        track.decide(now)
        rung = track.rung()
        if track.layer == rung.layer:
            v.asked = -1  # no switch pending: the next one asks again
        else:
            target = by_layer.get(rung.layer)
            if target is not None and target.keyframe:
                track.switched_to(rung.layer, now)
                v.need_keyframe = False
            elif v.asked != rung.layer:
                v.asked = rung.layer
                self._source.request_keyframe("viewer switches layer", rung.layer)
        frame = by_layer.get(track.layer)
        if frame is None:
            return True
        if v.need_keyframe:
            if not frame.keyframe:
                return True
            v.need_keyframe = False
        if frame.temporal > rung.temporal and not frame.keyframe:
            return True  # a frame nothing refers to, over this viewer's rate
        writer = v.writer
        if writer.backlog() > MAX_BACKLOG:
            # Its link takes less than this layer: drop, restart at a keyframe.
            self.dropped += 1
            v.need_keyframe = True
            self._source.request_keyframe("viewer backlog", track.layer)
            return True
        packets = payloads.get(frame.layer)
        if packets is None:
            packets = payloads[frame.layer] = packetize_vp8(
                bytes(frame.packet), frame.picture & 0x7FFF, frame.tl0, frame.temporal
            )
        octets = writer.octets
        if not writer.send_frame(packets, timestamp, ntp):
            return False
        self._source.delivered(frame, time.perf_counter())
        adaptation = track.adaptation
        adaptation.on_sent(
            len(packets), writer.octets - octets + len(packets) * PACKET_OVERHEAD, now
        )
        return True
