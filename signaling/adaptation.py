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

Up is found by probing: padding (retransmissions of recent packets, which the receiver
counts and discards) raises what the viewer receives in steps of ``probe_growth`` until
the next rung's need, ``probe_step`` seconds each; a step passes when it brings no loss,
no REMB decrease and no round trip well over the last seconds' median (a deep queue, as a
tbf with 200 ms of latency, absorbs a half-second step without a loss: in the relay's
first runs behind 1 Mbit/s, probes "passed" at 2.1 Mbit/s). The last step is held a
little longer, as its loss and round trips are reported one or two round trips late.
The probe then stands as the estimate until the next decrease or
loss. A failed probe waits twice as long before the next, up to ``probe_backoff_max``:
on a link that carries the low layer and no more, probes cost a little queueing every few
seconds, and a link that is lifted is found again within seconds.

Switches take effect at the target layer's next keyframe (the broadcast does that);
``switched`` tells this object, and loss is judged afresh from then on.
"""

from __future__ import annotations

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
    probe_rtt_rise: float = 0.04  # round trip (s) over 1.5x its recent median: ends a probe
    probe_confirm: float = 0.3  # seconds the last step is held longer (plus two round trips)
    rtt_window: float = 10.0  # seconds of round trips a probe's are compared with


@dataclass
class _Probe:
    target: int  # bits per second the viewer is to receive during this step
    started: float
    lost_at_start: int
    remb_dropped: bool = False
    rtt_rose: bool = False
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
    rtt: float | None = None  # seconds, from receiver reports
    switches: int = 0
    probes: int = 0
    probes_failed: int = 0
    _lost: int = 0  # media packets NACKed (each once), ever
    _window: deque[tuple[float, int, int]] = field(default_factory=deque)  # (t, sent, lost)
    _sent: int = 0  # media packets sent, ever
    _bytes: deque[tuple[float, int]] = field(default_factory=deque)  # (t, bytes) sent
    _rtts: deque[tuple[float, float]] = field(default_factory=deque)  # (t, rtt) reported
    _settled_at: float = 0.0
    _first_sent: float | None = None
    _probe: _Probe | None = None
    _next_probe: float = 0.0
    _backoff: float = 0.0

    # --- feedback -------------------------------------------------------------------------

    def on_sent(self, packets: int, size: int, now: float) -> None:
        """``packets`` media packets and ``size`` bytes on the wire (padding is sent with
        ``packets`` = 0) went to this viewer."""
        self._sent += packets
        self._bytes.append((now, size))
        self._trim(now)

    def on_lost(self, packets: int, now: float) -> None:
        """The viewer NACKed ``packets`` media packets it had not asked for before."""
        self._lost += packets
        self._trim(now)

    def on_report(self, fraction_lost: float, rtt: float | None, now: float) -> None:
        self.fraction_lost = fraction_lost
        if rtt is None or not 0 <= rtt < 10:
            return
        self.rtt = rtt
        rtts = self._rtts
        while rtts and now - rtts[0][0] > self.cfg.rtt_window:
            rtts.popleft()
        usual = statistics.median(r for _, r in rtts) if rtts else rtt
        rtts.append((now, rtt))
        # A queue that absorbs a probe step shows as a longer round trip before any loss.
        # The bar is the median of the last seconds: not their shortest, as a slow link's
        # own bursts (a frame at 600 kbit/s) spread round trips from 5 to 65 ms; not their
        # longest, which an earlier probe's queue raised (and the next probe then passed).
        if self._probe is not None and rtt > usual * 1.5 + self.cfg.probe_rtt_rise:
            self._probe.rtt_rose = True

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
            and lost <= self.cfg.probe_max_loss * max(sent, 1)
        ):
            self._start_probe(now, needs)
        return self.rung

    def padding(self, now: float) -> int:
        """Bits per second of padding wanted on top of the media now (0: none)."""
        if self._probe is None:
            return 0
        return max(self._probe.target - self.throughput(now), 0)

    def throughput(self, now: float) -> int:
        """Bits per second sent to this viewer over the last second, padding included."""
        self._trim(now)
        if not self._bytes:
            return 0
        if self._first_sent is None:
            self._first_sent = self._bytes[0][0]
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
        first = int(needs[self.rung] * self.cfg.probe_growth)
        self._probe = _Probe(
            min(first, self._probe_goal(needs)), now, self._lost, before=self.estimate
        )

    def _probe_goal(self, needs: Sequence[int]) -> int:
        return int(needs[self.rung - 1] * self.cfg.probe_margin)

    def _step(self, now: float, needs: Sequence[int]) -> None:
        probe = self._probe
        assert probe is not None
        if (
            probe.remb_dropped
            or probe.rtt_rose
            or self._lost - probe.lost_at_start >= self.cfg.probe_fail_lost
        ):
            # Queueing is seen a step late, so the steps this probe passed prove nothing.
            self.estimate = probe.before
            self.probes_failed += 1
            self._back_off(now)
            return
        goal = self._probe_goal(needs)
        length = self.cfg.probe_step
        if probe.target >= goal:
            # The last step's loss and queueing are reported a round trip or two later.
            length += self.cfg.probe_confirm + 2 * (self.rtt or 0.0)
        if now - probe.started < length:
            return
        if probe.target >= goal:
            # The path carried the next rung's need with margin: move up.
            self.estimate = max(self.estimate or 0, probe.target)
            self._probe = None
            self._backoff = 0.0
            # Climbing on: the next rung is tried once this one has settled.
            self._next_probe = now + self.cfg.settle
            self._settled_at = now + self.cfg.settle
            self.rung -= 1
            self.switches += 1
            return
        self.estimate = max(self.estimate or 0, probe.target)
        target = min(int(probe.target * self.cfg.probe_growth), goal)
        self._probe = _Probe(target, now, self._lost, before=probe.before)

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
