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
