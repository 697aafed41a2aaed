"""VP8 packetization of the direct RTP path."""

from __future__ import annotations

from signaling.rtpwriter import PACKET_MAX, packetize_vp8


def test_vp8_payloads_carry_the_frame_in_order_within_the_packet_size() -> None:
    data = bytes(range(256)) * 20  # 5120 bytes
    payloads = packetize_vp8(data, picture_id=300)
    assert all(len(p) <= PACKET_MAX for p in payloads)
    assert len(payloads) == 4
    from aiortc.codecs.vpx import VpxPayloadDescriptor

    out = b""
    for i, p in enumerate(payloads):
        desc, rest = VpxPayloadDescriptor.parse(p)
        assert desc.partition_start == (1 if i == 0 else 0)
        assert desc.picture_id == 300
        out += rest
    assert out == data


def test_payloads_carry_the_temporal_layer_for_receivers() -> None:
    from signaling.internals import VpxPayloadDescriptor
    from signaling.rtpwriter import packetize_vp8

    for temporal in (0, 1):
        (payload,) = packetize_vp8(b"frame", 77, tl0=9, temporal=temporal)
        descriptor, rest = VpxPayloadDescriptor.parse(payload)
        assert rest == b"frame"
        assert (descriptor.picture_id, descriptor.tl0picidx) == (77, 9)
        # Layer-1 frames refer only to layer 0: layer sync.
        assert descriptor.tid == (temporal, temporal)


def test_a_turn_allocation_has_no_socket_queue() -> None:
    """aioice's TurnTransport has only sendto, close and get_extra_info: a writer over it
    reads its backlog as 0 instead of failing (which stopped the camera for everyone)."""
    import aioice.turn

    from signaling.rtpwriter import RtpWriter

    writer = RtpWriter.__new__(RtpWriter)
    writer._transport = object.__new__(aioice.turn.TurnTransport)
    assert writer.backlog() == 0
    assert writer._closing() is False


def test_padding_copies_only_packets_older_than_its_age() -> None:
    """Copies of the newest packets would repair the losses a bandwidth probe watches for."""
    import time

    from signaling import rtpwriter
    from signaling.rtpwriter import HISTORY, RtpWriter

    writer = RtpWriter.__new__(RtpWriter)
    now = time.monotonic()
    writer._history = [None] * HISTORY
    for seq in range(100):  # one packet every 10 ms, the newest sent just now
        writer._history[seq % HISTORY] = (seq, b"p", now - (99 - seq) * 0.01)
    writer._seq = 100
    writer._pad_next = 0
    writer.pad_age = 0.25
    writer.padding_bytes = 0
    writer._rtx_pt = 97
    writer.usable = lambda: True  # type: ignore[method-assign]
    copied: list[int] = []
    writer._rtx = lambda seq, packet, ntp: (copied.append(seq), b"x" * 100)[1]  # type: ignore[method-assign]
    writer._srtp = type("Plain", (), {"protect": staticmethod(lambda b: b)})()
    writer._sendto = lambda data, addr: None  # type: ignore[method-assign]
    writer._addr = None
    sent = writer.pad(1000, 0)
    assert sent == 1000 and len(copied) == 10
    # Packets 75..99 are younger than 0.25 s.
    assert max(copied) <= 74 and min(copied) >= 74 - rtpwriter.PAD_RECENT


def test_a_retransmission_keeps_the_original_marker_bit() -> None:
    """Receivers restore the packet from the RTX header (RFC 4588); a frame's last packet
    recovered without its marker leaves the frame unfinished."""
    from aiortc.rtp import RtpPacket

    from signaling.rtpwriter import RtpWriter

    writer = RtpWriter.__new__(RtpWriter)
    writer._rtx_pt, writer._rtx_seq, writer._rtx_ssrc = 97, 5, 4242
    writer._ext_has_time, writer._ext_head, writer._ext_tail, writer._ext_len = False, b"", b"", 0
    for marker in (False, True):
        original = RtpPacket(payload_type=96, marker=marker, sequence_number=700, ssrc=1)
        original.payload = b"vp8 payload"
        rtx = RtpPacket.parse(writer._rtx(700, original.serialize(), 0))
        assert (rtx.payload_type, rtx.ssrc, rtx.marker) == (97, 4242, marker)
        assert rtx.payload == (700).to_bytes(2, "big") + b"vp8 payload"
