"""Every use of aiortc's and aioice's private parts, each with its reason, in one place.

The relay writes RTP itself for most viewers (:mod:`signaling.rtpwriter`): one
packetization per camera instead of one encoder and one packetizer per viewer.
aiortc has no public API for that, so the writer borrows a viewer's SRTP session,
ICE pair, SSRCs and negotiated parameters, keeps the sender's report counters true,
and takes over the sender's keyframe and retransmission hooks; and ICE candidates are
filtered by wrapping aioice's host address lookup. Nothing outside this module touches
a private attribute of either library.

:func:`missing` checks, without any network, that the installed aiortc and aioice
still have all of it; ``tests/unit/signaling/test_internals.py`` fails with its
message when they do not. pyproject.toml bounds both libraries to the tested range.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

import aioice.ice
from aiortc import (
    RTCCertificate,
    RTCDtlsTransport,
    RTCIceGatherer,
    RTCIceTransport,
    RTCRtpReceiver,
    RTCRtpSender,
    RTCRtpTransceiver,
)

# Module-level helpers of aiortc that its package does not export: RTP packet building,
# VP8 payload descriptors and the NTP clock the sender reports use.
from aiortc.clock import current_ntp_time
from aiortc.codecs.vpx import VpxPayloadDescriptor
from aiortc.rtcrtpparameters import (
    RTCRtpCodecParameters,
    RTCRtpHeaderExtensionParameters,
    RTCRtpSendParameters,
)
from aiortc.rtp import (
    RTCP_PSFB_APP,
    HeaderExtensionsMap,
    RtcpPsfbPacket,
    RtcpRrPacket,
    RtcpSrPacket,
    RtpPacket,
    pack_header_extensions,
    unpack_remb_fci,
    wrap_rtx,
)

__all__ = [
    "HeaderExtensionsMap",
    "RTCRtpSendParameters",
    "RtpPacket",
    "VpxPayloadDescriptor",
    "current_ntp_time",
    "header_extensions",
    "ice_connection",
    "is_plain_udp",
    "missing",
    "negotiated_codecs",
    "nominated_pair",
    "observe_rtcp",
    "pack_header_extensions",
    "route_keyframe_requests",
    "route_retransmissions",
    "send_pli",
    "sender_ssrcs",
    "set_report_counters",
    "srtp_session",
    "wrap_host_addresses",
    "wrap_rtx",
]

HostAddresses = Callable[[bool, bool], list[str]]
_ORIGINAL = "_esp32_relay_original"  # marks aioice's lookup as wrapped, holding the original


def negotiated_codecs(transceiver: RTCRtpTransceiver) -> list[RTCRtpCodecParameters]:
    """The codecs the answer settled on (payload types, RTX's ``apt``), first preferred."""
    codecs: list[RTCRtpCodecParameters] = transceiver._codecs
    return codecs


def header_extensions(transceiver: RTCRtpTransceiver) -> list[RTCRtpHeaderExtensionParameters]:
    """The negotiated RTP header extensions (ids for mid, abs-send-time)."""
    extensions: list[RTCRtpHeaderExtensionParameters] = transceiver._headerExtensions
    return extensions


def sender_ssrcs(sender: RTCRtpSender) -> tuple[int, int]:
    """(media SSRC, RTX SSRC): the writer's packets must be the sender's own stream."""
    return int(sender._ssrc), int(sender._rtx_ssrc)


def srtp_session(dtls: RTCDtlsTransport) -> Any:
    """The DTLS transport's outbound SRTP session (keys exist once DTLS is connected)."""
    return dtls._tx_srtp


def ice_connection(dtls: RTCDtlsTransport) -> aioice.ice.Connection:
    """The aioice connection under a DTLS transport: its nominated pair is the path."""
    connection: aioice.ice.Connection = dtls.transport._connection
    return connection


def nominated_pair(connection: aioice.ice.Connection) -> aioice.ice.CandidatePair | None:
    """The pair ICE nominated for RTP (component 1), or None before nomination."""
    pair: aioice.ice.CandidatePair | None = connection._nominated.get(1)
    return pair


def is_plain_udp(pair: aioice.ice.CandidatePair) -> bool:
    """Whether the pair sends through aioice's ``StunProtocol.send_data``: UDP, straight or
    over a TURN allocation's transport (aioice wraps relayed candidates that way); the
    writer's ``sendto`` on ``pair.protocol.transport`` then reaches the same path."""
    return type(pair.protocol).send_data is aioice.ice.StunProtocol.send_data


def set_report_counters(
    sender: RTCRtpSender, *, ntp: int, rtp_timestamp: int, packets: int, octets: int
) -> None:
    """aiortc's RTCP loop builds sender reports from these; packets sent around it count."""
    sender._RTCRtpSender__ntp_timestamp = ntp  # type: ignore[attr-defined]
    sender._RTCRtpSender__rtp_timestamp = rtp_timestamp  # type: ignore[attr-defined]
    sender._RTCRtpSender__packet_count = packets  # type: ignore[attr-defined]
    sender._RTCRtpSender__octet_count = octets  # type: ignore[attr-defined]


def route_keyframe_requests(sender: RTCRtpSender, request: Callable[[], None]) -> None:
    """A viewer's PLI or FIR calls ``request`` instead of forcing a keyframe in a per-viewer
    encoder, which a sender of pre-encoded packets does not have.

    ``RTCRtpSender._handle_rtcp_packet`` calls ``self._send_keyframe()``; an instance
    attribute takes precedence over the method.
    """
    sender._send_keyframe = request  # type: ignore[method-assign]


def route_retransmissions(
    sender: RTCRtpSender, retransmit: Callable[[int], Coroutine[Any, Any, None]]
) -> None:
    """A NACK is answered by ``retransmit(sequence_number)``: the writer keeps the history of
    the packets it sent itself, which aiortc's own history never saw."""
    sender._retransmit = retransmit  # type: ignore[method-assign, assignment]


def observe_rtcp(
    sender: RTCRtpSender,
    on_report: Callable[[float, float | None, float | None], None],
    on_remb: Callable[[int], None],
) -> None:
    """Let the viewer's feedback reach its rate adaptation before aiortc handles it:
    receiver reports (fraction lost, round-trip time from LSR/DLSR, and the fraction lost
    of the RTX stream, whose report block Chromium and aiortc put in the same packet) and
    REMB for this sender's SSRC.

    aiortc reads REMB only to set a per-viewer encoder's bitrate, which a sender of
    pre-encoded packets does not have; ``RTCDtlsTransport`` calls each recipient's
    ``_handle_rtcp_packet`` by name, so an instance attribute sees every packet first.
    """
    original = sender._handle_rtcp_packet
    ssrc = int(sender._ssrc)
    rtx_ssrc = int(sender._rtx_ssrc)

    async def handle(packet: Any) -> None:
        try:
            if isinstance(packet, RtcpRrPacket | RtcpSrPacket):
                rtx = next(
                    (r.fraction_lost / 256 for r in packet.reports if r.ssrc == rtx_ssrc), None
                )
                for report in packet.reports:
                    if report.ssrc != ssrc:
                        continue
                    rtt = None
                    if report.lsr:
                        middle = (current_ntp_time() >> 16) & 0xFFFFFFFF
                        rtt = ((middle - report.lsr - report.dlsr) & 0xFFFFFFFF) / 65536
                    on_report(report.fraction_lost / 256, rtt, rtx)
            elif isinstance(packet, RtcpPsfbPacket) and packet.fmt == RTCP_PSFB_APP:
                bitrate, ssrcs = unpack_remb_fci(packet.fci)
                if ssrc in ssrcs:
                    on_remb(int(bitrate))
        except ValueError:
            pass  # not a REMB after all (another application-layer feedback)
        await original(packet)

    sender._handle_rtcp_packet = handle  # type: ignore[method-assign]


def wrap_host_addresses(lookup: Callable[[HostAddresses, bool, bool], list[str]]) -> None:
    """Make aioice enumerate local addresses through ``lookup(original, use_ipv4, use_ipv6)``.

    aioice has no option for choosing local addresses; its gathering calls the module's
    ``get_host_addresses`` by name, so replacing that is the one way. Done once per
    process: a second call (another relay in the same process) keeps the first.
    """
    current = aioice.ice.get_host_addresses
    if hasattr(current, _ORIGINAL):
        return

    def get_host_addresses(use_ipv4: bool, use_ipv6: bool) -> list[str]:
        return lookup(current, use_ipv4, use_ipv6)

    setattr(get_host_addresses, _ORIGINAL, current)
    aioice.ice.get_host_addresses = get_host_addresses


async def send_pli(receiver: RTCRtpReceiver) -> None:
    """Ask the sender of the receiver's first stream for a keyframe, as a browser does after
    loss: aiortc's receiver sends PLIs only from its own decoder's needs."""
    ssrcs = list(receiver._RTCRtpReceiver__remote_streams)  # type: ignore[attr-defined]
    await receiver._send_rtcp_pli(ssrcs[0])


async def missing() -> list[str]:
    """What the installed aiortc and aioice lack of the above; empty when all is there.

    Builds a sender, a transceiver and their transports offline (no socket is opened)
    and looks for every attribute used here. A coroutine: aiortc's objects bind to the
    running loop when they are made.
    """
    problems: list[str] = []
    dtls = RTCDtlsTransport(
        RTCIceTransport(RTCIceGatherer(iceServers=[])), [RTCCertificate.generateCertificate()]
    )
    sender = RTCRtpSender("video", dtls)
    receiver = RTCRtpReceiver("video", dtls)
    transceiver = RTCRtpTransceiver("video", receiver, sender)
    checks: list[tuple[object, str, str]] = [
        (transceiver, "_codecs", "RTCRtpTransceiver._codecs (negotiated codecs)"),
        (transceiver, "_headerExtensions", "RTCRtpTransceiver._headerExtensions"),
        (sender, "_ssrc", "RTCRtpSender._ssrc"),
        (sender, "_rtx_ssrc", "RTCRtpSender._rtx_ssrc"),
        (sender, "_send_keyframe", "RTCRtpSender._send_keyframe (PLI/FIR hook)"),
        (sender, "_retransmit", "RTCRtpSender._retransmit (NACK hook)"),
        (sender, "_handle_rtcp_packet", "RTCRtpSender._handle_rtcp_packet (RTCP feedback)"),
        (dtls, "_tx_srtp", "RTCDtlsTransport._tx_srtp (SRTP session)"),
        (dtls.transport, "_connection", "RTCIceTransport._connection (aioice connection)"),
        (receiver, "_RTCRtpReceiver__remote_streams", "RTCRtpReceiver.__remote_streams"),
        (receiver, "_send_rtcp_pli", "RTCRtpReceiver._send_rtcp_pli"),
    ]
    for counter in ("ntp_timestamp", "rtp_timestamp", "packet_count", "octet_count"):
        checks.append(
            (sender, f"_RTCRtpSender__{counter}", f"RTCRtpSender.__{counter} (sender reports)")
        )
    for obj, attr, what in checks:
        if not hasattr(obj, attr):
            problems.append(what)
    connection = getattr(dtls.transport, "_connection", None)
    if connection is not None and not isinstance(getattr(connection, "_nominated", None), dict):
        problems.append("aioice Connection._nominated (nominated pairs by component)")
    for module_attr in ("get_host_addresses", "StunProtocol", "CandidatePair"):
        if not hasattr(aioice.ice, module_attr):
            problems.append(f"aioice.ice.{module_attr}")
    if hasattr(aioice.ice, "StunProtocol") and not hasattr(aioice.ice.StunProtocol, "send_data"):
        problems.append("aioice.ice.StunProtocol.send_data")
    if hasattr(aioice.ice, "get_host_addresses"):
        params = list(inspect.signature(aioice.ice.get_host_addresses).parameters)
        if params[:2] != ["use_ipv4", "use_ipv6"]:
            problems.append(f"aioice.ice.get_host_addresses(use_ipv4, use_ipv6), not {params}")
    handler = inspect.getsource(RTCRtpSender._handle_rtcp_packet)
    for hook in ("_send_keyframe", "_retransmit"):
        if f"self.{hook}(" not in handler:
            problems.append(f"RTCRtpSender._handle_rtcp_packet no longer calls self.{hook}()")
    return problems
