"""One viewer's rung decisions, driven by feedback the way a real link produces it."""

from __future__ import annotations

from signaling.adaptation import Adaptation, AdaptationConfig, wire_rate

NEEDS = [2_300_000, 350_000, 210_000]  # full, low, low at half rate (wire rates)


def _send(
    a: Adaptation,
    start: float,
    seconds: float,
    rate: int,
    lose_every: int = 0,
    rtt: float | None = 0.020,
) -> float:
    """Feed ``seconds`` of 25 fps frames at ``rate`` bit/s, NACKing every ``lose_every``th
    packet, with a receiver report of ``rtt`` every half second; returns the time reached.
    Decisions every 0.1 s, as the broadcast makes them."""
    now, packets = start, 0
    per_frame = max(rate // 8 // 25, 1)
    for _ in range(int(seconds * 25)):
        if rtt is not None and int(now / 0.5) != int((now + 0.04) / 0.5):
            a.on_report(0.0, rtt, now)
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
    a.on_report(0.0, 0.120, now)  # over the bar (1.5 x the 25 ms median + 40 ms; 100 ms)
    a.update(now, NEEDS)
    assert a.probing is not None  # once could be a busy moment
    a.on_report(0.0, 0.110, now + 0.01)  # twice running: a queue
    a.update(now + 0.01, NEEDS)
    assert a.probing is None and a.rung == 1 and a.probes_failed == 1
    assert a.estimate == before
    assert a.probe_failure == "round trip rose"


def test_one_long_round_trip_between_usual_ones_lets_the_probe_go_on() -> None:
    a = Adaptation(rung=1)
    for t in range(4):
        a.on_report(0.0, 0.020, t * 0.2)
    now = _probe_started(a, 350_000)
    a.on_report(0.0, 0.130, now)  # a busy moment: over the bar, once
    a.on_report(0.0, 0.021, now + 0.01)
    a.on_report(0.0, 0.135, now + 0.02)
    a.update(now + 0.02, NEEDS)
    assert a.probing is not None and a.probes_failed == 0


def test_a_short_first_round_trip_does_not_make_a_lan_viewers_jitter_a_queue() -> None:
    a = Adaptation(rung=1)
    a.on_report(0.0, 0.002, 0.0)  # the one sample before the probe
    now = _probe_started(a, 350_000)
    a.on_report(0.0, 0.070, now)  # 70 ms twice: under the 100 ms floor
    a.on_report(0.0, 0.069, now + 0.01)
    a.update(now + 0.01, NEEDS)
    assert a.probing is not None and a.probes_failed == 0


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
    now = 0.0
    while a.probing is None and now < 30:
        now = _send(a, now, 0.1, 350_000, rtt=0.100)
    # Steps until the last one (the one that reaches the goal) has begun.
    while a.probing is not None and a.probing < int(NEEDS[0] * cfg.probe_margin):
        now = _send(a, now, 0.04, 350_000, rtt=0.100)
    started = now
    while a.rung == 1 and now - started < 5:
        now = _send(a, now, 0.04, 350_000, rtt=0.100)
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
    a.on_report(0.0, 0.190, now + 0.01)
    a.update(now + 0.01, NEEDS)
    assert a.probing is None and a.probes_failed == 1


def test_a_round_trip_far_over_the_bar_ends_the_probe_at_once() -> None:
    a = Adaptation(rung=1)
    for t in range(4):
        a.on_report(0.0, 0.030, t * 0.2)
    now = _probe_started(a, 350_000)
    a.on_report(0.0, 0.260, now)  # over the 100 ms floor by more than 150 ms
    a.update(now, NEEDS)
    assert a.probing is None and a.probe_failure == "round trip rose"


def test_a_new_viewer_starts_on_the_rung_the_start_rate_fits_and_probes_for_the_top() -> None:
    a = Adaptation()
    assert a.begin(0.0, NEEDS) == 2  # 300 kbit/s assumed: the low layer at half rate
    assert a.starting  # low because new: the kiosk shows no "weak link" badge for it
    now = _send(a, 0.0, 0.4, 200_000)
    assert a.probing is None  # the first picture settles first
    steps = []
    while a.rung == 2 and now < 5:
        now = _send(a, now, 0.04, 200_000)
        if a.probing is not None and a.probing not in steps:
            steps.append(a.probing)
    # Straight to the top rung, in steps of three times, within two seconds on a clean link.
    assert a.rung == 0 and now < 2.5, (a.rung, now, steps)
    assert steps[0] == 3 * NEEDS[2] and len(steps) == 3, steps
    assert not a.starting


def test_a_start_probe_that_fails_leaves_the_viewer_where_it_started() -> None:
    a = Adaptation()
    a.begin(0.0, NEEDS)
    now = _probe_started(a, 200_000)
    a.on_lost(2, now)
    a.update(now, NEEDS)
    assert a.rung == 2 and a.probes_failed == 1 and a.probing is None
    assert not a.starting  # the link lost packets: now it is the link that holds it low
    # The next probe is an ordinary one: for the next rung up.
    while a.probing is None and now < 20:
        now = _send(a, now, 0.1, 200_000)
    assert a.probing == int(NEEDS[2] * a.cfg.probe_growth)


def test_a_viewer_that_cannot_be_probed_or_has_one_rung_starts_on_top() -> None:
    assert Adaptation(enabled=False).begin(0.0, NEEDS) == 0
    assert Adaptation().begin(0.0, NEEDS[:1]) == 0
    assert Adaptation(ceiling=1).begin(0.0, NEEDS) == 2


def test_a_step_whose_rate_was_not_sent_proves_nothing() -> None:
    a = Adaptation(rung=1)
    a.on_report(0.0, 0.020, 0.0)
    now = 0.0
    while a.probing is None and now < 10:
        a.on_sent(1, 1750, now)  # 350 kbit/s of media, and no padding at all
        a.update(now, NEEDS)
        now += 0.04
    while a.probing is not None and now < 20:
        a.on_sent(1, 1750, now)
        a.update(now, NEEDS)
        now += 0.04
    assert a.rung == 1 and a.probes_failed == 1 and a.estimate is None


def test_a_start_probe_that_could_not_be_sent_is_tried_again_for_the_top() -> None:
    # A camera away as the viewer joins: its placeholder is too sparse to pad from.
    cfg = AdaptationConfig()
    a = Adaptation(cfg)
    a.begin(0.0, NEEDS)
    a.on_report(0.0, 0.020, 0.0)
    now = 0.0
    while a.probes_failed == 0 and now < 10:
        a.on_sent(1, 200, now)  # 40 kbit/s, no padding
        a.update(now, NEEDS)
        now += 0.04
    assert a.probe_failure == "rate not reached" and a.rung == 2
    failed = now
    # The camera is back: the same probe, after the base wait, and straight to the top.
    while a.rung == 2 and now - failed < 5:
        now = _send(a, now, 0.04, 200_000)
    assert a.rung == 0 and now - failed < cfg.probe_backoff + 2.0, now - failed


def test_a_last_step_without_a_round_trip_report_is_given_up() -> None:
    # Padding absorbs a token bucket's drops (it follows each frame's media into the
    # queue): only the round trip shows the queue, so the last step must see one.
    cfg = AdaptationConfig()
    a = Adaptation(cfg, rung=1)
    now = _probe_started(a, 350_000)
    while a.probing is not None and a.probing < int(NEEDS[0] * cfg.probe_margin):
        now = _send(a, now, 0.04, 350_000)
    started = now
    while a.probing is not None and now - started < 5:
        now = _send(a, now, 0.04, 350_000, rtt=None)  # the receiver stopped reporting
    assert a.rung == 1 and a.probes_failed == 1
    assert cfg.probe_report_wait - 0.05 <= now - started <= cfg.probe_report_wait + 0.1


def test_padding_lost_on_the_rtx_stream_fails_a_probe_that_lost_no_media() -> None:
    a = Adaptation(rung=1)
    now = _probe_started(a, 350_000)
    now = _send(a, now, 0.3, 350_000)
    a.on_report(0.0, 0.020, now, rtx_lost=0.01)  # a lossy link's usual: the probe goes on
    a.update(now, NEEDS)
    assert a.probing is not None
    a.on_report(0.0, 0.020, now, rtx_lost=0.30)  # the queue dropped the padding
    a.update(now, NEEDS)
    assert a.probing is None and a.rung == 1 and a.probes_failed == 1
