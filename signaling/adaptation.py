"""Which rung of a source's layers one viewer gets, from that viewer's own feedback. Pure.

The estimator is the viewer's own: Chromium (and aiortc) run libwebrtc's receive-side
delay-based estimator (inter-arrival trend of abs-send-time, overuse detector, AIMD) and
send its result as REMB. That estimator is what WebRTC receivers keep; a sender-side one
(transport-wide feedback) would have to be written and kept here, in Python, for every
packet. REMB's known limits decide how it is read:

* An increase says little: the receiver never reports more than 1.5 times what it
  receives, and for its first seconds it reports its start value. So a REMB above the
  current need never moves a viewer up, and a low REMB at start never moves it down.
* A decrease is the receiver detecting queueing (overuse): its new value is 0.85 times
  what actually arrived, a measurement of the path. A decrease below what the current rung
  needs moves the viewer down, to the best rung that fits.
* Loss, counted from the viewer's NACKs as it happens (each media packet once), moves a
  viewer down when over ``down_loss`` of a second's packets: a token bucket with a short
  queue (most home routers, the kernel's tbf) drops instead of delaying.

A new viewer starts on the best rung that ``start_rate`` fits (300 kbit/s, libwebrtc's
start rate: the low layer at half rate) and is probed for the top rung at once, in steps
of three times; on a LAN it is on the top rung within two seconds (see :meth:`begin`).

Up is found by probing: padding (retransmissions of recent packets, which the receiver
counts and discards) raises what the viewer receives in steps of ``probe_growth`` until
the next rung's need, ``probe_step`` seconds each; a step counts only when its rate was
actually sent, and passes when it brings no loss of media, no loss of padding (the RTX
stream's receiver report: a bottleneck queue drops the padding that follows each frame,
not the frame), no REMB decrease and no round trip well over the median outside probes
(a deep queue, as a tbf with 200 ms of latency, absorbs a half-second step without a
loss: in the relay's first runs behind 1 Mbit/s, probes "passed" at 2.1 Mbit/s). The last
step is held a little longer, as its loss and round trips are reported one or two round
trips late, and until a receiver report has come during it.
The probe then stands as the estimate until the next decrease or
loss. A failed probe waits twice as long before the next, up to ``probe_backoff_max``:
on a link that carries the low layer and no more, probes cost a little queueing every few
seconds, and a link that is lifted is found again within seconds.

Switches take effect at the target layer's next keyframe (the broadcast does that);
``switched`` tells this object, and loss is judged afresh from then on.
"""

from __future__ import annotations

import dataclasses
import statistics
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

# Per packet on the wire beyond the VP8 payload: IPv4 20 + UDP 8 + RTP 12, header
# extensions about 12, SRTP tag 10, VP8 descriptor 6.
PACKET_OVERHEAD = 68
PACKET_PAYLOAD = 1200  # typical VP8 payload per packet (PACKET_MAX less its descriptor)


def wire_rate(payload_bps: int, fps: float) -> int:
    """What a rung of ``payload_bps`` costs on the wire: payload plus per-packet headers."""
    packets = payload_bps / 8 / PACKET_PAYLOAD + max(fps, 1.0)  # each frame's last packet
    return int(payload_bps + packets * PACKET_OVERHEAD * 8)


@dataclass(frozen=True)
class AdaptationConfig:
    down_loss: float = 0.10  # NACKed share of a second's media packets that moves down
    min_lost: int = 4  # and at least this many packets
    down_below: float = 0.7  # a REMB decrease below this share of the rung's need moves down
    settle: float = 1.0  # seconds after a switch before its loss counts
    headroom: float = 0.9  # a rung fits an estimate when its need is below this share of it
    probe_growth: float = 1.6  # each probe step's rate over the previous
    probe_step: float = 0.5  # seconds per step
    probe_margin: float = 1.15  # the last step reaches the next rung's need times this
    probe_fail_lost: int = 2  # media packets lost in a step that end the probe
    probe_backoff: float = 2.0  # seconds after a move down or a failed probe
    probe_backoff_max: float = 5.0
    probe_max_loss: float = 0.02  # no probe while more than this is being lost
    probe_rtt_rise: float = 0.04  # round trip (s) over 1.5x its recent median, twice running,
    probe_rtt_jump: float = 0.15  # or once by this much: ends a probe
    probe_rtt_floor: float = 0.1  # the bar is never below this (s)
    probe_confirm: float = 0.3  # seconds the last step is held longer (plus two round trips)
    rtt_window: float = 10.0  # seconds of round trips a probe's are compared with
    probe_rtx_loss: float = 0.05  # RTX stream (padding) lost, as reported, that ends a probe
    probe_report_wait: float = 2.5  # seconds the last step waits for a round trip report
    probe_reach: float = 0.8  # share of a step's rate that must have been sent for it to count
    start_rate: int = 300_000  # bits/s a new viewer's path is assumed to carry (libwebrtc's)
    start_growth: float = 3.0  # the first probe's steps: straight for the top rung
    start_wait: float = 0.5  # seconds on the first rung before that probe


@dataclass
class _Probe:
    target: int  # bits per second the viewer is to receive during this step
    started: float
    lost_at_start: int
    to: int  # the rung it tries for
    goal: int  # the rate its last step reaches
    growth: float
    start: bool = False  # the first probe, for the top rung at once
    remb_dropped: bool = False
    rtt_rose: bool = False
    rtt_high: int = 0  # round trips over the bar in a row
    padding_lost: bool = False
    reports: int = 0  # round trips reported during this step
    before: int | None = None  # the estimate before this probe began


@dataclass
class Adaptation:
    """One viewer's rung, estimate and probe. Time is passed in; nothing here does I/O."""

    cfg: AdaptationConfig = field(default_factory=AdaptationConfig)
    rung: int = 0  # index into the source's rungs, best first
    ceiling: int = 0  # the best rung the viewer allows itself ("data saver": a lower one)
    enabled: bool = True  # False: stays on its rung
    remb: int | None = None  # the viewer's last REMB
    estimate: int | None = None  # what the path is believed to carry (bits/s), once known
    fraction_lost: float = 0.0  # from the viewer's last receiver report
    rtx_lost: float | None = None  # the same, of its RTX stream (padding, retransmissions)
    rtt: float | None = None  # seconds, from receiver reports
    switches: int = 0
    probes: int = 0
    probes_failed: int = 0
    probe_failure: str | None = None  # why the last failed probe failed
    # Climbing from the start rung, with no sign yet of what the link carries: the viewer
    # is low because it is new, not because its link holds it there (the kiosk's badge).
    starting: bool = False
    _lost: int = 0  # media packets NACKed (each once), ever
    _window: deque[tuple[float, int, int]] = field(default_factory=deque)  # (t, sent, lost)
    _sent: int = 0  # media packets sent, ever
    _bytes: deque[tuple[float, int]] = field(default_factory=deque)  # (t, bytes) sent
    _media: deque[tuple[float, int]] = field(default_factory=deque)  # the same, media only
    _rtts: deque[tuple[float, float]] = field(default_factory=deque)  # (t, rtt) reported
    _settled_at: float = 0.0
    _first_sent: float | None = None
    _probe: _Probe | None = None
    _next_probe: float = 0.0
    _backoff: float = 0.0
    _first_probe: bool = False  # the next probe is the start's, for the top rung at once

    def begin(self, now: float, needs: Sequence[int]) -> int:
        """A viewer whose path is not known yet (and that can be probed): start on the best
        rung that fits ``start_rate``, and probe for the top rung at once. Returns the rung.

        Starting on the top rung blind cost a viewer behind 300 kbit/s its first 1.3 s
        at 2 Mbit/s: most of the first keyframe and its retransmissions dropped, and an
        aiortc receiver, which waits for every packet, showed nothing for 14-20 s. This is
        how WebRTC senders and SFUs start (a start rate, then fast probes up); a viewer on a
        LAN gets the top rung after about 1.5 s."""
        if not self.enabled or len(needs) < 2:
            return self.rung
        start = len(needs) - 1
        for index in range(min(self.ceiling, start), len(needs)):
            if needs[index] <= self.cfg.headroom * self.cfg.start_rate:
                start = index
                break
        self.rung = max(start, self.ceiling)
        self._first_probe = self.rung > self.ceiling
        self.starting = self._first_probe
        self._next_probe = now + self.cfg.start_wait
        return self.rung

    # --- feedback -------------------------------------------------------------------------

    def on_sent(self, packets: int, size: int, now: float) -> None:
        """``packets`` media packets and ``size`` bytes on the wire (padding is sent with
        ``packets`` = 0) went to this viewer."""
        self._sent += packets
        self._bytes.append((now, size))
        if self._first_sent is None:
            self._first_sent = now
        if packets:
            self._media.append((now, size))
        self._trim(now)

    def on_lost(self, packets: int, now: float) -> None:
        """The viewer NACKed ``packets`` media packets it had not asked for before."""
        self._lost += packets
        self._trim(now)

    def on_report(
        self, fraction_lost: float, rtt: float | None, now: float, rtx_lost: float | None = None
    ) -> None:
        """A receiver report: ``fraction_lost`` of the media since the last one, the round
        trip, and ``rtx_lost``: the fraction of the RTX stream lost, padding included."""
        self.fraction_lost = fraction_lost
        self.rtx_lost = rtx_lost
        if self._probe is not None and rtx_lost is not None and rtx_lost > self.cfg.probe_rtx_loss:
            # Padding follows each frame's media into the bottleneck's queue, so the queue
            # drops padding first: a probe past the path's rate loses no media at all (at
            # 300 kbit/s, probes "passed" at 2.4 Mbit/s). The RTX stream's report sees it.
            self._probe.padding_lost = True
        if rtt is None or not 0 <= rtt < 10:
            return
        self.rtt = rtt
        rtts = self._rtts
        while rtts and now - rtts[0][0] > self.cfg.rtt_window:
            rtts.popleft()
        probe = self._probe
        if probe is None:
            rtts.append((now, rtt))
            return
        # A queue that absorbs a probe step shows as a longer round trip before any loss.
        # The bar is the median of the last seconds outside probes: not their shortest, as
        # a slow link's own bursts (a frame at 600 kbit/s) spread round trips from 5 to
        # 65 ms; not their longest, which an earlier probe's queue raised (and the next
        # probe then passed).
        # One long round trip alone is not a queue: a receiver or relay busy for a moment
        # (two aiortc viewers decoding beside the relay on two cores) showed 70 ms against a
        # 20 ms median, and a LAN viewer's probes failed for it. A queue stays: the next
        # report is long too, or this one is far over. Nor is a queue shorter than the
        # floor worth a probe's failure (its first bar can rest on one 2 ms sample).
        usual = statistics.median(r for _, r in rtts) if rtts else rtt
        bar = max(usual * 1.5 + self.cfg.probe_rtt_rise, self.cfg.probe_rtt_floor)
        probe.rtt_high = probe.rtt_high + 1 if rtt > bar else 0
        if probe.rtt_high >= 2 or rtt > bar + self.cfg.probe_rtt_jump:
            probe.rtt_rose = True
        probe.reports += 1

    def on_remb(self, bitrate: int, now: float, needs: Sequence[int]) -> None:
        previous, self.remb = self.remb, bitrate
        if previous is None or bitrate >= 0.95 * previous:
            return
        # The receiver saw queueing: what it reports now was measured on the path.
        self.estimate = bitrate
        if self._probe is not None:
            self._probe.remb_dropped = True
        if self.enabled and bitrate < self.cfg.down_below * needs[self.rung]:
            self._move_down(self._fitting(bitrate, needs), now)

    def switched(self, now: float) -> None:
        """The broadcast moved the viewer to its rung's layer (at its keyframe)."""
        self._settled_at = now + self.cfg.settle
        self._window.clear()

    # --- decisions ------------------------------------------------------------------------

    def update(self, now: float, needs: Sequence[int]) -> int:
        """The rung this viewer should be on now; ``needs`` are the rungs' wire rates."""
        self._trim(now)
        lowest = len(needs) - 1
        self.ceiling = min(self.ceiling, lowest)
        if self.rung < self.ceiling:
            self.rung = self.ceiling
        self.rung = min(self.rung, lowest)
        if not self.enabled:
            return self.rung
        sent, lost = self._recent()
        if (
            now >= self._settled_at
            and lost >= self.cfg.min_lost
            and lost > self.cfg.down_loss * max(sent, 1)
        ):
            carried = self.throughput(now) * (1 - lost / max(sent, lost))
            self.estimate = int(carried)
            self._move_down(self._fitting(int(carried), needs), now)
        elif self._probe is not None:
            self._step(now, needs)
        elif (
            self.rung > self.ceiling
            and now >= self._next_probe
            and now >= self._settled_at
            and self._rtts  # a round trip outside probes to compare the probe's with
            and lost <= self.cfg.probe_max_loss * max(sent, 1)
        ):
            self._start_probe(now, needs)
        return self.rung

    def padding(self, now: float) -> int:
        """Bits per second of padding wanted on top of the media now (0: none)."""
        if self._probe is None:
            return 0
        # On top of the media's own rate, not of what was sent (padding included): a
        # controller on the total lagged a second behind each step, and steps "passed"
        # at three quarters of their rate.
        self._trim(now)
        first = now if self._first_sent is None else self._first_sent
        span = min(max(now - first, 0.1), 1.0)
        media = sum(n for _, n in self._media) * 8 / span
        return max(int(self._probe.target - media), 0)

    def throughput(self, now: float) -> int:
        """Bits per second sent to this viewer over the last second, padding included."""
        self._trim(now)
        if not self._bytes or self._first_sent is None:
            return 0
        # A viewer's first second has less than a second of data.
        span = min(max(now - self._first_sent, 0.1), 1.0)
        return int(sum(n for _, n in self._bytes) * 8 / span)

    @property
    def probing(self) -> int | None:
        return None if self._probe is None else self._probe.target

    @property
    def lost(self) -> int:
        return self._lost

    def loss(self) -> float:
        """Share of the last second's media packets the viewer NACKed."""
        sent, lost = self._recent()
        return min(lost / sent, 1.0) if sent else 0.0

    # --- internals ------------------------------------------------------------------------

    def _fitting(self, rate: int, needs: Sequence[int]) -> int:
        """The best rung whose need fits ``rate``, never better than the next one down."""
        for index in range(max(self.rung + 1, self.ceiling), len(needs)):
            if needs[index] <= self.cfg.headroom * rate:
                return index
        return len(needs) - 1

    def _back_off(self, now: float) -> None:
        """No probe for a while: twice the last wait, from ``probe_backoff`` up to the cap."""
        self._probe = None
        self.starting = False  # the link said something: from now on, low is the link
        self._backoff = min(
            max(self._backoff * 2, self.cfg.probe_backoff), self.cfg.probe_backoff_max
        )
        self._next_probe = now + self._backoff

    def _move_down(self, rung: int, now: float) -> None:
        self._back_off(now)
        self._settled_at = now + self.cfg.settle
        self._window.clear()
        if rung != self.rung:
            self.rung = rung
            self.switches += 1

    def _start_probe(self, now: float, needs: Sequence[int]) -> None:
        self.probes += 1
        if self._first_probe:
            to, growth = self.ceiling, self.cfg.start_growth
        else:
            to, growth = self.rung - 1, self.cfg.probe_growth
        self._first_probe = False
        goal = int(needs[to] * self.cfg.probe_margin)
        first = min(int(needs[self.rung] * growth), goal)
        self._probe = _Probe(
            first,
            now,
            self._lost,
            to,
            goal,
            growth,
            start=growth == self.cfg.start_growth,
            before=self.estimate,
        )

    def _step(self, now: float, needs: Sequence[int]) -> None:
        probe = self._probe
        assert probe is not None
        reason = (
            "remb decreased"
            if probe.remb_dropped
            else "round trip rose"
            if probe.rtt_rose
            else "padding lost"
            if probe.padding_lost
            else "media lost"
            if self._lost - probe.lost_at_start >= self.cfg.probe_fail_lost
            else None
        )
        if reason is not None:
            # Queueing is seen a step late, so the steps this probe passed prove nothing.
            self._fail_probe(probe, now, reason)
            return
        length = self.cfg.probe_step
        if probe.target >= probe.goal:
            # The last step's loss and queueing are reported a round trip or two later.
            length += self.cfg.probe_confirm + 2 * (self.rtt or 0.0)
        elapsed = now - probe.started
        if elapsed < length:
            return
        if probe.target >= probe.goal and (not probe.reports or probe.rtt_high):
            # No round trip measured during the last step (receivers report about once a
            # second), or its last one long: its queue would go unseen. Held for the
            # next, then given up.
            if elapsed < self.cfg.probe_report_wait:
                return
            self._retry_probe(probe, now, "no report")
            return
        if self._rate_since(probe.started, now) < self.cfg.probe_reach * probe.target:
            # Not sent at that rate (padding short of history, frames late): it proves
            # nothing yet. Held up to twice as long, then given up.
            if elapsed < 2 * length:
                return
            self._retry_probe(probe, now, "rate not reached")
            return
        if probe.target >= probe.goal:
            # The path carried the rung's need with margin: move up.
            self.estimate = max(self.estimate or 0, probe.target)
            self._probe = None
            self._backoff = 0.0
            # Climbing on: the next rung is tried once this one has settled.
            self._next_probe = now + self.cfg.settle
            self._settled_at = now + self.cfg.settle
            self.rung = probe.to
            self.switches += 1
            self.starting = False
            return
        self.estimate = max(self.estimate or 0, probe.target)
        target = min(int(probe.target * probe.growth), probe.goal)
        self._probe = dataclasses.replace(
            probe, target=target, started=now, lost_at_start=self._lost, reports=0
        )

    def _fail_probe(self, probe: _Probe, now: float, reason: str) -> None:
        self.estimate = probe.before
        self.probes_failed += 1
        self.probe_failure = reason
        self._back_off(now)

    def _retry_probe(self, probe: _Probe, now: float, reason: str) -> None:
        """A probe that proved nothing of the path (not sent at its rate: a camera away
        sends a placeholder too sparse to pad from; or no report came): tried again as it
        was after ``probe_backoff``, the backoff not growing. Counted as failed, it cost a
        kiosk whose camera rebooted as it joined 8 s on the low layer."""
        starting = self.starting
        self._fail_probe(probe, now, reason)
        self._backoff = 0.0
        self._next_probe = now + self.cfg.probe_backoff
        self._first_probe = probe.start
        self.starting = starting  # nothing was learnt of the link

    def _rate_since(self, start: float, now: float) -> float:
        """Bits per second sent from ``start`` (at most the last second) to ``now``."""
        since = max(start, now - 1.0)
        if now - since <= 0:
            return 0.0
        return sum(n for t, n in self._bytes if t >= since) * 8 / (now - since)

    def _recent(self) -> tuple[int, int]:
        """(media packets sent, lost) over the last second."""
        if not self._window:
            return 0, 0
        _, sent0, lost0 = self._window[0]
        return self._sent - sent0, self._lost - lost0

    def _trim(self, now: float) -> None:
        self._window.append((now, self._sent, self._lost))
        while len(self._window) > 1 and now - self._window[0][0] > 1.0:
            self._window.popleft()
        while self._bytes and now - self._bytes[0][0] > 1.0:
            self._bytes.popleft()
        while self._media and now - self._media[0][0] > 1.0:
            self._media.popleft()
