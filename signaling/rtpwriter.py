"""Packetize each encoded frame once and write it to every viewer, synchronously.

aiortc's sender runs one task per viewer and builds every RTP packet through
several layers of Python objects and coroutines.  With dozens of viewers that
per-packet work, not the encoder, dominates the relay's CPU and the delay to
the last viewer.  Here a frame is split into VP8 payloads once per camera, and
for each viewer only the 12-byte header, the SRTP protection (C) and the UDP
send remain, in one pass on the event loop right after the encoder returns.

aiortc keeps everything else: ICE, DTLS, RTCP (receiver reports, sender reports
whose counters are kept current here, PLI/FIR routed to the shared encoder, NACK
answered from this writer's own history).  A viewer whose selected ICE pair does not
send through aioice's ``StunProtocol`` falls back to aiortc's own send loop; a TURN
allocation does (over the allocation's transport), so relayed viewers are written here.

Loss recovery fits the latency budget: a NACKed packet is resent (over RTX, with a
fresh send time) only while it can still arrive within ``RETRANSMIT_BUDGET`` of its
first sending (or three round trips, on a long path: a receiver that waits for every
packet, as aiortc's jitter buffer does, needs the copy even late) and at most once per
round trip; a packet past that is not worth the
link's capacity, and the writer asks for a keyframe of the viewer's layer instead
(recovery is hopeless, the viewer would otherwise wait for its own PLI). Padding for
bandwidth probes is the same kind of packet: recent media resent over RTX, which the
viewer's estimator counts and its jitter buffer discards.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

from aiortc import RTCRtpSender, RTCRtpTransceiver

from . import internals
from .internals import (
    VpxPayloadDescriptor,
    current_ntp_time,
    pack_header_extensions,
)

log = logging.getLogger(__name__)

PACKET_MAX = 1300  # VP8 descriptor + payload per RTP packet, as aiortc sends
HISTORY = 256  # packets kept per viewer for retransmission on NACK
RETRANSMIT_BUDGET = 0.25  # seconds after its first sending a resent packet may still arrive
# Padding copies this many packets of the history, at most, per picture: 64 at 5 pictures
# a second make 3.8 Mbit/s, past the top rung's probe.
PAD_RECENT = 64
PAD_AGE = 0.25  # seconds a packet is old before padding copies it (two round trips, if more)
LATE_REPAIR = 2.0  # seconds after its sending a packet NACKed past the budget is still resent
MIN_RESEND_GAP = 0.02  # seconds between two resendings of one packet (at least one RTT)
_HEADER = struct.Struct("!BBHII")
URI_MID = "urn:ietf:params:rtp-hdrext:sdes:mid"
URI_ABS_SEND_TIME = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
URI_PLAYOUT_DELAY = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
_UDP_SEGMENT = getattr(socket, "UDP_SEGMENT", 103)  # Linux >= 4.18
_GSO_SUPPORTED = sys.platform.startswith("linux")
_GSO_MAX_SEGMENTS = 32  # well under the kernel's 64 and 64 KiB per call


def packetize_vp8(
    data: bytes, picture_id: int, tl0: int | None = None, temporal: int = 0
) -> list[bytes]:
    """RFC 7741 payloads (one partition, 15-bit picture ID), each at most PACKET_MAX bytes.

    With ``tl0`` (TL0PICIDX) the descriptor also carries the temporal layer, so a receiver
    knows that a missing layer-1 frame was dropped on purpose and nothing waits for it;
    layer-1 frames are marked layer-sync (they refer only to layer 0).
    """
    tid = None if tl0 is None else (temporal, 1 if temporal else 0)
    first = bytes(
        VpxPayloadDescriptor(
            partition_start=1, partition_id=0, picture_id=picture_id, tl0picidx=tl0, tid=tid
        )
    )
    rest = bytes(
        VpxPayloadDescriptor(
            partition_start=0, partition_id=0, picture_id=picture_id, tl0picidx=tl0, tid=tid
        )
    )
    size = PACKET_MAX - len(first)
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return [first + chunks[0], *(rest + c for c in chunks[1:])]


def _ext_template(fixed: list[tuple[int, bytes]], abs_id: int | None) -> tuple[bytes, bytes, bool]:
    """The header-extension block, split around abs-send-time's 3 bytes, which change per frame."""
    if abs_id is None:
        profile, block = pack_header_extensions(fixed)
        head = struct.pack("!HH", profile, len(block) // 4) + block if block else b""
        return head, b"", False
    profile, low = pack_header_extensions([*fixed, (abs_id, b"\x00\x00\x00")])
    _, high = pack_header_extensions([*fixed, (abs_id, b"\xff\xff\xff")])
    at = next(i for i, (a, b) in enumerate(zip(low, high, strict=True)) if a != b)
    head = struct.pack("!HH", profile, len(low) // 4)
    return head + low[:at], low[at + 3 :], True


class RtpWriter:
    """Writes one viewer's RTP stream directly to its SRTP session and UDP socket."""

    def __init__(
        self,
        sender: RTCRtpSender,
        transceiver: RTCRtpTransceiver,
        pair: Any,
        *,
        use_gso: bool = True,
        playout_delay_id: int | None = None,
    ) -> None:
        codecs = internals.negotiated_codecs(transceiver)
        extensions = internals.header_extensions(transceiver)
        self._sender = sender
        self._dtls = sender.transport
        self._srtp = internals.srtp_session(self._dtls)
        self._transport = pair.protocol.transport
        self._sendto: Callable[[bytes, Any], None] = self._transport.sendto
        self._addr = pair.remote_addr
        self._pair = pair
        self._ice = internals.ice_connection(self._dtls)
        self.ssrc, self._rtx_ssrc = internals.sender_ssrcs(sender)
        self.payload_type: int = codecs[0].payloadType or 0
        self._rtx_pt: int | None = next(
            (
                c.payloadType
                for c in codecs
                if c.mimeType.lower() == "video/rtx"
                and str(c.parameters.get("apt")) == str(self.payload_type)
            ),
            None,
        )
        self._rtx_seq = random.getrandbits(16) % 32768
        ids = {e.uri: e.id for e in extensions}
        fixed: list[tuple[int, bytes]] = []
        if transceiver.mid and URI_MID in ids:
            fixed.append((ids[URI_MID], transceiver.mid.encode()))
        if playout_delay_id:
            # min = max = 0 (RFC-less WebRTC extension): render each frame as soon as decoded.
            fixed.append((playout_delay_id, b"\x00\x00\x00"))
        self._ext_head, self._ext_tail, self._ext_has_time = _ext_template(
            fixed, ids.get(URI_ABS_SEND_TIME)
        )
        self._ext_len = len(self._ext_head) + (3 if self._ext_has_time else 0) + len(self._ext_tail)
        self._seq = random.getrandbits(16) % 32768  # lower half: no early wrap (SRTP index)
        self._ts_origin = random.getrandbits(32)
        # Per slot: (sequence number, plain packet, monotonic time first sent)
        self._history: list[tuple[int, bytes, float] | None] = [None] * HISTORY
        self._nacked: list[int] = [-1] * HISTORY  # the seq each slot was last NACKed for
        self._resent_at: list[float] = [0.0] * HISTORY
        self._pad_next = 0  # where in its PAD_RECENT packets padding starts next
        self.packets = 0
        self.octets = 0
        self.retransmitted = 0
        self.padding_bytes = 0
        self.lost = 0  # media packets the viewer NACKed (each counted once)
        self.too_late = 0  # NACKed past the budget: a keyframe asked for; resent up to LATE_REPAIR
        self.min_resend_gap = MIN_RESEND_GAP
        self.budget = RETRANSMIT_BUDGET  # widened with the round trip (set by the track)
        self.pad_age = PAD_AGE  # widened with the round trip (set by the track)
        # Told of each newly NACKed packet, and when recovery is hopeless (set by the track).
        self.on_lost: Callable[[int], None] | None = None
        self.on_hopeless: Callable[[], None] | None = None
        self.gso_sends = 0  # system calls that carried several packets
        self.closed = False
        self._gso_sock = self._open_gso() if use_gso else None

    @classmethod
    def create(
        cls,
        sender: RTCRtpSender,
        transceiver: RTCRtpTransceiver,
        *,
        use_gso: bool = True,
        playout_delay_id: int | None = None,
    ) -> RtpWriter | None:
        """A writer for this viewer, or None when only aiortc's own loop can send for it."""
        try:
            pair = internals.nominated_pair(internals.ice_connection(sender.transport))
            if sender.transport.state != "connected" or pair is None:
                return None
            if not internals.is_plain_udp(pair):
                return None
            return cls(
                sender, transceiver, pair, use_gso=use_gso, playout_delay_id=playout_delay_id
            )
        except (AttributeError, IndexError, KeyError) as exc:  # an aiortc we do not know
            log.warning("direct RTP path unavailable (%s); using aiortc's sender", exc)
            return None

    def usable(self) -> bool:
        return (
            not self.closed
            and self._dtls.state == "connected"
            and internals.nominated_pair(self._ice) is self._pair
        )

    def send_frame(self, payloads: list[bytes], timestamp: int, ntp: int) -> bool:
        """Send one frame's payloads; False when this viewer's transport is gone.

        ``ntp`` is the 64-bit NTP time of the send, read once per frame for all viewers.
        """
        if not self.usable():
            self.close()
            return False
        ts = (self._ts_origin + timestamp) & 0xFFFFFFFF
        ext = self._ext_now(ntp)
        first_byte = 0x90 if ext else 0x80  # version 2, extension bit
        pt, ssrc, protect, history = self.payload_type, self.ssrc, self._srtp.protect, self._history
        seq = self._seq
        last = len(payloads) - 1
        out: list[bytes] = []
        now = time.monotonic()
        for i, payload in enumerate(payloads):
            packet = _HEADER.pack(first_byte, (0x80 if i == last else 0) | pt, seq, ts, ssrc)
            packet = packet + ext + payload
            history[seq % HISTORY] = (seq, packet, now)
            out.append(protect(packet))
            self.octets += len(payload)
            seq = (seq + 1) & 0xFFFF
        try:
            self._send(out)
        except Exception as exc:  # socket closed under us: this viewer is done
            log.debug("viewer ssrc %d: send failed: %s", ssrc, exc)
            self.close()
            return False
        self.packets += len(payloads)
        self._seq = seq
        self._update_sender_report(ts, ntp)
        return True

    def _send(self, datagrams: list[bytes]) -> None:
        """One frame's datagrams: with UDP GSO one system call, otherwise one each.

        All but the last of a frame's packets have the same size, which is what
        GSO needs; the kernel splits the buffer into those datagrams.
        """
        if self._gso_sock is not None and len(datagrams) > 1 and not self._transport_backlog():
            size = len(datagrams[0])
            i = 0
            try:
                while i < len(datagrams):
                    batch = datagrams[i : i + _GSO_MAX_SEGMENTS]
                    # The batch ends at the first short datagram (it must be the last).
                    n = next((k + 1 for k, d in enumerate(batch) if len(d) != size), len(batch))
                    batch = batch[:n]
                    if n == 1:
                        self._sendto(batch[0], self._addr)
                    else:
                        self._gso_sock.sendmsg(
                            [b"".join(batch)],
                            [(socket.SOL_UDP, _UDP_SEGMENT, struct.pack("=H", size))],
                            0,
                            self._addr,
                        )
                        self.gso_sends += 1
                    i += n
                return
            except BlockingIOError:
                pass  # socket buffer full: let asyncio's transport queue the rest
            except OSError as exc:  # GSO unsupported on this path
                log.info("UDP GSO unavailable (%s); sending packets one by one", exc)
                self._close_gso()
            datagrams = datagrams[i:]
        for d in datagrams:
            self._sendto(d, self._addr)

    def _transport_backlog(self) -> bool:
        # Writing around asyncio's queue would reorder packets.
        return bool(self.backlog())

    def backlog(self) -> int:
        """Bytes waiting in this viewer's socket queue (the kernel refused them for now).

        A TURN allocation's transport (aioice's ``TurnTransport``: ``sendto``, ``close``
        and ``get_extra_info`` only) keeps no queue of its own: 0.
        """
        size = getattr(self._transport, "get_write_buffer_size", None)
        return int(size()) if size is not None else 0

    def _closing(self) -> bool:
        closing = getattr(self._transport, "is_closing", None)
        return bool(closing()) if closing is not None else False

    def _ext_now(self, ntp: int) -> bytes:
        """The header extensions of a packet sent at ``ntp`` (abs-send-time: 6.18 fixed)."""
        if self._ext_has_time:
            return self._ext_head + ((ntp >> 14) & 0x00FFFFFF).to_bytes(3, "big") + self._ext_tail
        return self._ext_head

    def _rtx(self, seq: int, packet: bytes, ntp: int) -> bytes:
        """``packet`` (a plain media packet of this writer) over RTX, stamped with ``ntp``:
        a send time from its first sending would read as a long queue to the estimator.
        The marker bit is the original's (RFC 4588): receivers restore the packet from this
        header, and a frame's last packet recovered without it leaves the frame unfinished
        (Chromium then froze until its own keyframe request, 3 s later)."""
        assert self._rtx_pt is not None
        ext = self._ext_now(ntp)
        header = _HEADER.pack(
            0x90 if ext else 0x80,
            (packet[1] & 0x80) | self._rtx_pt,
            self._rtx_seq,
            int.from_bytes(packet[4:8], "big"),
            self._rtx_ssrc,
        )
        self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
        payload = packet[12 + self._ext_len :]
        return header + ext + seq.to_bytes(2, "big") + payload

    def pad(self, size: int, ntp: int) -> int:
        """Send about ``size`` bytes of padding (packets again, over RTX); returns the bytes
        sent. Nothing without RTX or history.

        The copies are of packets at least ``pad_age`` old: copies of the newest ones
        repair the very losses a probe is watching for (a probe at twice a 600 kbit/s
        link's rate "passed" without one NACK, the dropped media arriving as padding)."""
        if self._rtx_pt is None or size <= 0 or not self.usable():
            return 0
        sent = 0
        newest = (self._seq - 1) % HISTORY
        before = time.monotonic() - self.pad_age
        skip = 0
        while skip < HISTORY - PAD_RECENT:
            entry = self._history[(newest - skip) % HISTORY]
            if entry is None or entry[2] <= before:
                break
            skip += 1
        for back in range(PAD_RECENT):
            if sent >= size:
                break
            offset = skip + (self._pad_next + back) % PAD_RECENT
            entry = self._history[(newest - offset) % HISTORY]
            if entry is None or entry[2] > before:
                break
            datagram = self._srtp.protect(self._rtx(entry[0], entry[1], ntp))
            try:
                self._sendto(datagram, self._addr)
            except Exception:  # the socket is closing: no padding
                return sent
            sent += len(datagram)
        self._pad_next = (self._pad_next + 1) % PAD_RECENT
        self.padding_bytes += sent
        return sent

    def _open_gso(self) -> socket.socket | None:
        if not _GSO_SUPPORTED:
            return None
        try:
            raw = self._transport.get_extra_info("socket")
            sock = socket.socket(fileno=os.dup(raw.fileno()))
            sock.setblocking(False)
            return sock
        except (AttributeError, OSError) as exc:
            log.debug("no socket for UDP GSO: %s", exc)
            return None

    def _close_gso(self) -> None:
        if self._gso_sock is not None:
            self._gso_sock.close()
            self._gso_sock = None

    def close(self) -> None:
        self.closed = True
        self._close_gso()

    def _update_sender_report(self, rtp_timestamp: int, ntp: int) -> None:
        internals.set_report_counters(
            self._sender,
            ntp=ntp,
            rtp_timestamp=rtp_timestamp,
            packets=self.packets,
            octets=self.octets,
        )

    async def retransmit(self, sequence_number: int) -> None:
        """Answer a NACK from this writer's history (installed as the sender's ``_retransmit``)."""
        slot = sequence_number % HISTORY
        entry = self._history[slot]
        if entry is None or entry[0] != sequence_number or not self.usable():
            return
        if self._closing():
            return
        now = time.monotonic()
        if self._nacked[slot] != sequence_number:
            self._nacked[slot] = sequence_number
            self.lost += 1
            if self.on_lost is not None:
                self.on_lost(1)
        elif now - self._resent_at[slot] < self.min_resend_gap:
            return  # the last copy may still be on its way
        age = now - entry[2]
        if age > self.budget:
            # Too late for the frame it belongs to: ask for a keyframe. Yet a receiver asking
            # for it still wants it: aiortc's jitter buffer holds every later frame behind
            # the hole until 128 packets have passed it, and a retransmission lost on a slow
            # link, refused when asked again, stopped an aiortc viewer for 10-20 s.
            self.too_late += 1
            if self.on_hopeless is not None:
                self.on_hopeless()
            if age > LATE_REPAIR:
                return
        self._resent_at[slot] = now
        packet_bytes = entry[1]
        if self._rtx_pt is not None:
            packet_bytes = self._rtx(sequence_number, packet_bytes, current_ntp_time())
        self.retransmitted += 1
        self._sendto(self._srtp.protect(packet_bytes), self._addr)
