"""SDP edits: accepting the playout-delay extension aiortc does not know."""

from __future__ import annotations

from signaling.sdp import PLAYOUT_DELAY, add_extension, offered_extension_id

OFFER = (
    "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
    "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=extmap:6 " + PLAYOUT_DELAY + "\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:toffset\r\n"
    "a=extmap:12 " + PLAYOUT_DELAY + "\r\n"
)
ANSWER = (
    "v=0\r\no=- 3 4 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n"
    "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:1\r\n"
    "a=extmap:1 urn:ietf:params:rtp-hdrext:sdes:mid\r\n"
    "a=extmap:3 http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time\r\n"
    "a=rtpmap:96 VP8/90000\r\n"
)


def test_the_video_sections_id_is_found() -> None:
    assert offered_extension_id(OFFER, PLAYOUT_DELAY) == 12  # not the audio section's 6
    assert offered_extension_id(ANSWER, PLAYOUT_DELAY) is None
    assert offered_extension_id("v=0\r\n", PLAYOUT_DELAY) is None


def test_extension_is_added_after_the_other_extmaps() -> None:
    out = add_extension(ANSWER, 12, PLAYOUT_DELAY)
    assert out is not None
    lines = out.split("\r\n")
    at = lines.index(f"a=extmap:12 {PLAYOUT_DELAY}")
    assert lines[at - 1].startswith("a=extmap:3 ")
    assert lines[at + 1].startswith("a=rtpmap:96")
    assert out.endswith("\r\n")


def test_ids_that_clash_or_need_two_byte_headers_are_refused() -> None:
    assert add_extension(ANSWER, 3, PLAYOUT_DELAY) is None  # taken by abs-send-time
    assert add_extension(ANSWER, 15, PLAYOUT_DELAY) is None
    assert add_extension("v=0\r\nm=audio 9 RTP/AVP 0\r\n", 5, PLAYOUT_DELAY) is None
