"""When keyframes are made: on request, rate-limited, never lost."""

from __future__ import annotations

from relay.video.keyframes import KeyframePolicy


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
