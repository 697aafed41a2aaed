"""One viewer's rung decisions, driven by feedback the way a real link produces it."""

from __future__ import annotations

from signaling.adaptation import Adaptation, AdaptationConfig, wire_rate

NEEDS = [2_300_000, 350_000, 210_000]  # full, low, low at half rate (wire rates)


def _send(a: Adaptation, start: float, seconds: float, rate: int, lose_every: int = 0) -> float:
    """Feed ``seconds`` of 25 fps frames at ``rate`` bit/s, NACKing every ``lose_every``th
    packet; returns the time reached. Decisions every 0.1 s, as the broadcast makes them."""
    now, packets = start, 0
    per_frame = max(rate // 8 // 25, 1)
    for _ in range(int(seconds * 25)):
        n = max(per_frame // 1200, 1)
        a.on_sent(n, per_frame, now)
        for _ in range(n):
            packets += 1
            if lose_every and packets % lose_every == 0:
                a.on_lost(1, now)
        pad = a.padding(now)
        if pad:
            a.on_sent(0, int(pad * 0.04 / 8), now)
        a.update(now, NEEDS)
        now += 0.04
    return now


def test_a_clean_link_keeps_the_top_rung_whatever_remb_says_at_first() -> None:
    a = Adaptation()
    a.on_remb(300_000, 0.0, NEEDS)  # a receiver's start value, below the need
    a.on_remb(330_000, 0.5, NEEDS)
    _send(a, 0.0, 5.0, 2_200_000)
    assert a.rung == 0 and a.switches == 0


def test_heavy_loss_moves_down_to_what_was_carried() -> None:
    a = Adaptation()
    _send(a, 0.0, 1.0, 2_200_000, lose_every=3)  # a third lost: ~1.5 Mbit/s arrives
    assert a.rung == 1
    assert a.estimate is not None and a.estimate < 1_600_000


def test_random_one_percent_loss_moves_nobody() -> None:
    a = Adaptation()
    _send(a, 0.0, 10.0, 2_200_000, lose_every=100)
    assert a.rung == 0


def test_a_remb_decrease_below_the_need_moves_to_the_rung_that_fits() -> None:
    a = Adaptation()
    a.on_remb(3_000_000, 0.0, NEEDS)
    a.on_remb(500_000, 1.0, NEEDS)  # overuse: 0.85 x what arrived
    assert a.rung == 1
    a.on_remb(450_000, 1.2, NEEDS)  # a small decrease: still fits the low layer
    assert a.rung == 1
    a.on_remb(200_000, 1.5, NEEDS)
    assert a.rung == 2


def test_a_probe_climbs_in_steps_and_moves_up_on_a_clean_link() -> None:
    a = Adaptation(rung=2)
    now = _send(a, 0.0, 10.0, 200_000)
    assert a.rung == 0, (a.rung, a.probes, a.probes_failed)
    assert a.estimate is not None and a.estimate >= NEEDS[0]
    assert a.probes >= 2 and now <= 10.1


def test_a_probe_that_brings_loss_stops_and_backs_off() -> None:
    cfg = AdaptationConfig()
    a = Adaptation(cfg, rung=1)
    now = 0.0
    for _ in range(3):
        now = _send(a, now, 0.5, 350_000)
        while a.probing is None and now < 30:
            now = _send(a, now, 0.1, 350_000)
        assert a.probing is not None
        a.on_lost(cfg.probe_fail_lost, now)  # the queue overflowed
        a.update(now, NEEDS)
        assert a.probing is None
    assert a.rung == 1 and a.probes_failed == 3
    # Waits grow: 2, 4, then the 5 s cap.
    assert abs(a._next_probe - now - cfg.probe_backoff_max) < 1e-6


def test_a_remb_decrease_during_a_probe_fails_it() -> None:
    a = Adaptation(rung=1)
    a.on_remb(520_000, 0.0, NEEDS)
    now = _send(a, 0.0, 1.0, 350_000)
    assert a.probing is not None
    a.on_remb(400_000, now, NEEDS)  # still fits the low layer, but the probe queued
    a.update(now, NEEDS)
    assert a.probing is None and a.rung == 1 and a.probes_failed == 1


def test_the_ceiling_holds_a_viewer_on_a_cheaper_rung() -> None:
    a = Adaptation(ceiling=1)
    a.update(0.0, NEEDS)
    assert a.rung == 1
    _send(a, 0.0, 10.0, 400_000)
    assert a.rung == 1 and a.probes == 0


def test_disabled_adaptation_stays() -> None:
    a = Adaptation(enabled=False)
    _send(a, 0.0, 2.0, 2_200_000, lose_every=2)
    assert a.rung == 0


def test_wire_rate_adds_the_packet_headers() -> None:
    assert 320_000 < wire_rate(300_000, 25) < 340_000


def _probe_started(a: Adaptation, rate: int) -> float:
    now = 0.0
    while a.probing is None and now < 30:
        now = _send(a, now, 0.1, rate)
    assert a.probing is not None
    return now


def test_a_round_trip_that_grows_during_a_probe_fails_it_and_forgets_its_steps() -> None:
    # A deep queue (a tbf with 200 ms of latency) absorbs probe steps without a loss.
    a = Adaptation(rung=1)
    a.on_report(0.0, 0.020, 0.0)
    a.on_report(0.0, 0.030, 1.0)
    before = a.estimate
    now = _probe_started(a, 350_000)
    now = _send(a, now, 0.5, 350_000)  # one step passed
    assert a.probing is not None and a.estimate != before
    a.on_report(0.0, 0.120, now)  # over 1.5 x the 25 ms median + 40 ms
    a.update(now, NEEDS)
    assert a.probing is None and a.rung == 1 and a.probes_failed == 1
    assert a.estimate == before


def test_a_round_trip_within_its_usual_spread_lets_the_probe_go_on() -> None:
    a = Adaptation(rung=1)
    for t, rtt in enumerate((0.005, 0.065, 0.035, 0.040)):  # a slow link's own spread
        a.on_report(0.0, rtt, t * 0.2)
    now = _probe_started(a, 350_000)
    a.on_report(0.0, 0.090, now)  # within 1.5 x 37.5 ms + 40 ms: not a queue
    a.update(now, NEEDS)
    assert a.probing is not None


def test_the_last_step_waits_for_its_feedback_before_moving_up() -> None:
    cfg = AdaptationConfig()
    a = Adaptation(cfg, rung=1)
    a.on_report(0.0, 0.100, 0.0)
    now = _probe_started(a, 350_000)
    # Steps until the last one (the one that reaches the goal) has begun.
    while a.probing is not None and a.probing < int(NEEDS[0] * cfg.probe_margin):
        now = _send(a, now, 0.04, 350_000)
    started = now
    while a.rung == 1 and now - started < 5:
        now = _send(a, now, 0.04, 350_000)
    assert a.rung == 0
    held = now - started
    expected = cfg.probe_step + cfg.probe_confirm + 2 * 0.100
    assert expected - 0.05 <= held <= expected + 0.1, held


def test_an_earlier_probes_long_round_trip_does_not_raise_the_bar() -> None:
    a = Adaptation(rung=1)
    for t, rtt in enumerate((0.030, 0.028, 0.210, 0.031, 0.029)):  # one probe's queue
        a.on_report(0.0, rtt, t * 0.5)
    now = _probe_started(a, 350_000)
    a.on_report(0.0, 0.200, now)
    a.update(now, NEEDS)
    assert a.probing is None and a.probes_failed == 1
