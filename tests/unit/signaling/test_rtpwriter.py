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
