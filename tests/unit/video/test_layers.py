"""The low layer's temporal layers, and that each layer is encoded only while wanted."""

from __future__ import annotations

import av
import numpy as np

from relay.video.config import EncoderConfig, LayersConfig
from relay.video.layers import build_layers
from relay.video.vp8 import Vp8Encoder, temporal_layer


def _picture(i: int, w: int = 320, h: int = 240) -> av.VideoFrame:
    img = np.zeros((h, w, 3), np.uint8)
    img[:] = (40, 80, 120)
    x = (i * 7) % (w - 40)
    img[80:120, x : x + 40] = 255
    return av.VideoFrame.from_ndarray(img, format="bgr24").reformat(format="yuv420p")


def _decode(packets: list[tuple[int, bytes]]) -> dict[int, np.ndarray]:
    decoder = av.CodecContext.create("libvpx", "r")
    out = {}
    for i, data in packets:
        for frame in decoder.decode(av.Packet(data)):
            out[i] = frame.to_ndarray(format="gray").astype(int)
    return out


def test_dropping_temporal_layer_one_leaves_the_other_frames_exact() -> None:
    enc = Vp8Encoder(EncoderConfig(bitrate=300_000), temporal_layers=2)
    encoded: list[tuple[int, bytes, int, bool]] = []
    for i in range(60):
        # A keyframe asked for at an odd frame (a layer-1 slot) as well as an even one.
        packets, key, temporal = enc.encode(_picture(i), i * 3600, i in (0, 21, 40))
        encoded += [(i, bytes(p), temporal, key) for p in packets]
    # The odd one comes one frame later, in a layer-0 slot.
    assert [i for i, _, _, key in encoded if key] == [0, 22, 40]
    assert {temporal for _, _, temporal, key in encoded if not key} == {0, 1}
    full = _decode([(i, d) for i, d, _, _ in encoded])
    base = _decode([(i, d) for i, d, t, key in encoded if t == 0 or key])
    assert len(base) < len(full) * 0.6
    for i, picture in base.items():
        assert np.array_equal(picture, full[i]), f"frame {i} differs without layer 1"


def test_temporal_pattern() -> None:
    assert [temporal_layer(i, 2) for i in range(4)] == [0, 1, 0, 1]
    assert [temporal_layer(i, 1) for i in range(3)] == [0, 0, 0]


def test_low_layer_bitrate_is_a_share_of_the_full_size_one() -> None:
    layers = build_layers(EncoderConfig(bitrate=2_000_000), LayersConfig(low_share=0.15))
    full, low = layers
    assert low.size_for(800, 600) == (400, 300)
    full.encoder.encode(_picture(0, 800, 600), 0, True)
    low.encoder.reference = (800, 600)
    low.encoder.encode(_picture(0, 400, 300), 0, True)
    assert low.encoder.bitrate == int(full.encoder.bitrate * 0.15)
    assert build_layers(EncoderConfig(), LayersConfig(low=False))[1:] == []
