"""Packetize each encoded frame once and write it to every viewer, synchronously.

aiortc's sender runs one task per viewer and builds every RTP packet through
several layers of Python objects and coroutines.  With dozens of viewers that
per-packet work, not the encoder, dominates the relay's CPU and the delay to
the last viewer.  Here a frame is split into VP8 payloads once per camera, and
for each viewer only the 12-byte header, the SRTP protection (C) and the UDP
send remain, in one pass on the event loop right after the encoder returns.

aiortc keeps everything else: ICE, DTLS, RTCP (receiver reports, sender reports
whose counters are kept current here, PLI/FIR routed to the shared encoder, NACK
answered from this writer's own history).  A viewer whose selected ICE pair is
not plain UDP (a TURN relay) falls back to aiortc's own send loop.
"""

from __future__ import annotations

import logging
import random
import struct
from collections.abc import Callable
from typing import Any

import aioice.ice
from aiortc import RTCRtpSender, RTCRtpTransceiver
from aiortc import clock as rtc_clock
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtcrtpparameters import RTCRtpSendParameters
from aiortc.rtp import HeaderExtensions, HeaderExtensionsMap, RtpPacket, wrap_rtx

log = logging.getLogger(__name__)

PACKET_MAX = 1300  # VP8 descriptor + payload per RTP packet, as aiortc sends
HISTORY = 256  # packets kept per viewer for retransmission on NACK
_HEADER = struct.Struct("!BBHII")


def packetize_vp8(data: bytes, picture_id: int) -> list[bytes]:
    """RFC 7741 payloads (one partition, 15-bit picture ID), each at most PACKET_MAX bytes."""
    first = bytes(VpxPayloadDescriptor(partition_start=1, partition_id=0, picture_id=picture_id))
    rest = bytes(VpxPayloadDescriptor(partition_start=0, partition_id=0, picture_id=picture_id))
    size = PACKET_MAX - len(first)
    chunks = [data[i : i + size] for i in range(0, len(data), size)] or [b""]
    return [first + chunks[0], *(rest + c for c in chunks[1:])]


def _plain_udp(pair: Any) -> bool:
    return type(pair.protocol).send_data is aioice.ice.StunProtocol.send_data


class RtpWriter:
    """Writes one viewer's RTP stream directly to its SRTP session and UDP socket."""

    def __init__(self, sender: RTCRtpSender, transceiver: RTCRtpTransceiver, pair: Any) -> None:
        codecs = transceiver._codecs
        self._sender = sender
        self._dtls = sender.transport
        self._srtp = self._dtls._tx_srtp
        self._sendto: Callable[[bytes, Any], None] = pair.protocol.transport.sendto
        self._addr = pair.remote_addr
        self._pair = pair
        self._ice = self._dtls.transport._connection
        self.ssrc: int = sender._ssrc
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
        self._ext_map = HeaderExtensionsMap()
        self._ext_map.configure(
            RTCRtpSendParameters(
                codecs=codecs,
                headerExtensions=transceiver._headerExtensions,
                muxId=transceiver.mid or "",
            )
        )
        self._ext = HeaderExtensions()
        self._ext.mid = transceiver.mid
        self._seq = random.getrandbits(16) % 32768  # lower half: no early wrap (SRTP index)
        self._ts_origin = random.getrandbits(32)
        self._history: list[tuple[int, bytes] | None] = [None] * HISTORY
        self.packets = 0
        self.octets = 0
        self.retransmitted = 0
        self.closed = False

    @classmethod
    def create(cls, sender: RTCRtpSender, transceiver: RTCRtpTransceiver) -> RtpWriter | None:
        """A writer for this viewer, or None when only aiortc's own loop can send for it."""
        try:
            pair = sender.transport.transport._connection._nominated.get(1)
            if sender.transport.state != "connected" or pair is None or not _plain_udp(pair):
                return None
            return cls(sender, transceiver, pair)
        except (AttributeError, IndexError, KeyError) as exc:  # an aiortc we do not know
            log.warning("direct RTP path unavailable (%s); using aiortc's sender", exc)
            return None

    def usable(self) -> bool:
        return (
            not self.closed
            and self._dtls.state == "connected"
            and self._ice._nominated.get(1) is self._pair
        )

    def send_frame(self, payloads: list[bytes], timestamp: int) -> bool:
        """Send one frame's payloads; False when this viewer's transport is gone."""
        if not self.usable():
            self.closed = True
            return False
        ts = (self._ts_origin + timestamp) & 0xFFFFFFFF
        self._ext.abs_send_time = (rtc_clock.current_ntp_time() >> 14) & 0x00FFFFFF
        profile, ext = self._ext_map.set(self._ext)
        ext_head = struct.pack("!HH", profile, len(ext) // 4) + ext if ext else b""
        first_byte = 0x90 if ext else 0x80  # version 2, extension bit
        pt, ssrc, protect, sendto, addr = (
            self.payload_type,
            self.ssrc,
            self._srtp.protect,
            self._sendto,
            self._addr,
        )
        seq = self._seq
        last = len(payloads) - 1
        try:
            for i, payload in enumerate(payloads):
                marker = 0x80 if i == last else 0
                packet = _HEADER.pack(first_byte, marker | pt, seq, ts, ssrc) + ext_head + payload
                self._history[seq % HISTORY] = (seq, packet)
                sendto(protect(packet), addr)
                self.octets += len(payload)
                seq = (seq + 1) & 0xFFFF
        except Exception as exc:  # socket closed under us: this viewer is done
            log.debug("viewer ssrc %d: send failed: %s", ssrc, exc)
            self.closed = True
            return False
        self.packets += len(payloads)
        self._seq = seq
        self._update_sender_report(ts)
        return True

    def _update_sender_report(self, rtp_timestamp: int) -> None:
        # aiortc's RTCP loop builds sender reports from these; keep them true.
        s = self._sender
        s._RTCRtpSender__ntp_timestamp = rtc_clock.current_ntp_time()  # type: ignore[attr-defined]
        s._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
        s._RTCRtpSender__packet_count = self.packets  # type: ignore[attr-defined]
        s._RTCRtpSender__octet_count = self.octets  # type: ignore[attr-defined]

    async def retransmit(self, sequence_number: int) -> None:
        """Answer a NACK from this writer's history (installed as the sender's ``_retransmit``)."""
        entry = self._history[sequence_number % HISTORY]
        if entry is None or entry[0] != sequence_number or not self.usable():
            return
        packet_bytes = entry[1]
        if self._rtx_pt is not None:
            packet = RtpPacket.parse(packet_bytes, self._ext_map)
            rtx = wrap_rtx(packet, self._rtx_pt, self._rtx_seq, self._sender._rtx_ssrc)
            self._rtx_seq = (self._rtx_seq + 1) & 0xFFFF
            packet_bytes = rtx.serialize(self._ext_map)
        self.retransmitted += 1
        self._sendto(self._srtp.protect(packet_bytes), self._addr)
