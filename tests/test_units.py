"""Pure parts of the pipeline: keyframe policy, fan-out, VP8 packetizing, ICE filters, stats."""

from __future__ import annotations

import asyncio
import fractions

import av
import pytest

from relay.app import CONFIG, create_app
from relay.cli import main
from relay.encoder import KeyframePolicy, scaled_bitrate
from relay.fanout import EncodedFrame, Fanout
from relay.stats import LatencyRecorder, RateMeter
from signaling.ice import IcePolicy, parse_address_filter
from signaling.rtpwriter import PACKET_MAX, packetize_vp8


def test_keyframe_policy_rate_limits_but_never_loses_a_request() -> None:
    p = KeyframePolicy(min_gap=0.5, interval=10.0)
    assert p.due(0.0)  # the very first frame
    p.produced(0.0)
    assert not p.due(0.1)
    p.request()
    p.request()  # many viewers at once: one keyframe
    assert not p.due(0.3)  # inside the gap: deferred, not dropped
    assert p.due(0.5)
    p.produced(0.5)
    assert not p.pending and not p.due(0.6)
    assert p.due(10.5)  # the periodic safety net


def test_bitrate_scales_with_picture_area() -> None:
    assert scaled_bitrate(1_000_000, 800, 600) == 1_000_000
    assert scaled_bitrate(1_000_000, 1600, 1200) > 2_000_000
    assert scaled_bitrate(1_000_000, 320, 240) < 400_000


def _frame(seq: int, key: bool) -> EncodedFrame:
    p = av.Packet(b"x" * 10)
    p.pts = seq * 3600
    p.time_base = fractions.Fraction(1, 90000)
    return EncodedFrame(p, key, 800, 600, seq, 0.0, 0.0)


async def test_fanout_starts_each_viewer_at_a_keyframe_and_resets_a_stalled_one() -> None:
    requests: list[str] = []
    fan = Fanout(requests.append, depth=3)
    sub = fan.subscribe()
    assert requests == ["viewer joined"]
    fan.publish(_frame(1, False))  # not decodable without the keyframe: skipped
    fan.publish(_frame(2, True))
    fan.publish(_frame(3, False))
    assert [(await sub.get()).seq for _ in range(2)] == [2, 3]
    # The viewer stalls: its queue overflows, it is reset to the next keyframe.
    for seq in range(4, 8):
        fan.publish(_frame(seq, False))
    assert fan.stats.overflows == 1 and requests[-1] == "subscriber overflow"
    fan.publish(_frame(8, False))
    fan.publish(_frame(9, True))
    assert (await sub.get()).seq == 9
    sub.close()
    assert fan.viewers == 0
    with pytest.raises(EOFError):
        await sub.get()


async def test_subscription_get_wakes_on_publish_and_on_close() -> None:
    fan = Fanout(lambda reason: None)
    sub = fan.subscribe()
    task = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    fan.publish(_frame(1, True))
    assert (await task).seq == 1
    task = asyncio.ensure_future(sub.get())
    await asyncio.sleep(0)
    sub.close()
    with pytest.raises(EOFError):
        await task


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


def test_ice_address_filter_by_network_and_interface() -> None:
    allowed = parse_address_filter(["192.168.1.0/24", "wlan0", "fd00::/8"])
    assert allowed is not None
    assert allowed("eth0", "192.168.1.20")
    assert not allowed("docker0", "172.17.0.1")
    assert allowed("wlan0", "10.1.2.3")
    assert allowed("eth0", "fd00::5")
    assert not allowed("eth0", "fe80::1%eth0")
    assert parse_address_filter([]) is None


def test_ice_configuration_never_defaults_to_a_public_stun_server() -> None:
    assert IcePolicy().configuration().iceServers == []
    cfg = IcePolicy(servers=({"urls": "stun:stun.example.org"},)).configuration()
    assert cfg.iceServers is not None and cfg.iceServers[0].urls == "stun:stun.example.org"


def test_stats_helpers() -> None:
    rec = LatencyRecorder(size=4)
    for v in (0.001, 0.002, 0.003, 0.004, 0.010):
        rec.add(v)
    assert rec.count == 5
    summary = rec.summary_ms()
    assert summary["p50"] == 4.0 and summary["p99"] == 10.0  # only the last 4 kept
    meter = RateMeter(window=2.0)
    for i in range(11):
        meter.tick(100 + i * 0.1)
    assert meter.rate(101.0) == pytest.approx(10.0)
    assert meter.rate(200.0) == 0.0


def test_create_app_reads_arguments_like_the_command(monkeypatch) -> None:
    monkeypatch.delenv("ESP32_RELAY_PORT", raising=False)
    app = create_app(["--camera", "http://192.168.4.1:81/stream", "--port", "9000"])
    cfg = app[CONFIG]
    assert cfg.port == 9000 and cfg.cameras[0].stream_url == "http://192.168.4.1:81/stream"


def test_command_refuses_a_bad_configuration(capsys, tmp_path) -> None:
    assert main(["--camera", "ftp://nope"]) == 2
    assert "http:// URL" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "none.toml")]) == 2
