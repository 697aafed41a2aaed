"""Misbehaviour of real boards, switched per frame and per request while the simulator runs."""

from __future__ import annotations

import random
from dataclasses import dataclass, fields


@dataclass
class Faults:
    """Misbehaviour of real boards, all off by default.

    ``*_every`` fields count frames on one stream connection (1-based): a value
    of N hits frames N, 2N, 3N, ...; 0 disables the fault.
    """

    # Close the connection in the middle of the JPEG of every Nth frame.
    drop_every: int = 0
    # Pause this long before every Nth frame, socket open, nothing sent.
    stall_every: int = 0
    stall_seconds: float = 2.0
    # Send junk bytes (inside a valid HTTP chunk) before every Nth frame's boundary.
    garbage_every: int = 0
    garbage_bytes: int = 64
    # Damage the entropy-coded data of every Nth JPEG (markers and length stay intact).
    corrupt_every: int = 0
    # Send every Nth JPEG without its last third (no EOI); Content-Length matches.
    truncate_every: int = 0
    # Announce a Content-Length off by mislength_bytes for every Nth JPEG, alternately too
    # long (the part swallows the next boundary) and too short (the JPEG loses its end).
    mislength_every: int = 0
    mislength_bytes: int = 64
    # After every Nth frame: drop all connections, refuse new ones for reboot_seconds,
    # then come back with default settings, like a brownout.
    reboot_every: int = 0
    reboot_seconds: float = 3.0
    # Refuse every connection for this long after start() (the board is booting).
    refuse_first_seconds: float = 0.0
    # Answer /stream with 500 Internal Server Error and close.
    stream_http_500: bool = False
    # Send the stream no faster than this (small writes, like weak WiFi); 0 = unlimited.
    drip_bytes_per_second: int = 0
    # Control server. ``control_*_every`` count /control requests (1-based), except
    # control_reset_every, which counts every request the control server reads.
    # Answer every Nth /control with 500 and apply nothing (a sensor setter failing).
    control_500_every: int = 0
    # Reset the connection instead of answering every Nth request; nothing is applied.
    control_reset_every: int = 0
    # Hold every Nth /control for control_delay_seconds, then apply and answer it; the
    # httpd serves nothing else meanwhile.
    control_delay_every: int = 0
    control_delay_seconds: float = 3.0
    # On every Nth /control: reset it and refuse control connections for
    # control_outage_seconds (WiFi drop-out); the stream and the settings stay.
    control_outage_every: int = 0
    control_outage_seconds: float = 2.0
    # Seed for the garbage and corruption bytes.
    seed: int = 0

    @staticmethod
    def hits(every: int, index: int) -> bool:
        return every > 0 and index % every == 0

    def describe(self) -> str:
        """The fields that differ from the defaults, e.g. ``drop_every=3``; empty if none."""
        default = Faults()
        return ", ".join(
            f"{f.name}={getattr(self, f.name)}"
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        )


def corrupt_jpeg(jpeg: bytes, rng: random.Random, count: int = 24) -> bytes:
    """Overwrite bytes of the entropy-coded data, never creating or breaking a marker."""
    sos = jpeg.find(b"\xff\xda")
    if sos < 0 or len(jpeg) < sos + 16:
        return jpeg
    start = sos + 2 + int.from_bytes(jpeg[sos + 2 : sos + 4], "big")
    end = len(jpeg) - 2  # keep EOI
    if end - start < 4:
        return jpeg
    data = bytearray(jpeg)
    for _ in range(count):
        pos = rng.randrange(start + 1, end - 1)
        if data[pos] == 0xFF or data[pos - 1] == 0xFF:
            continue
        data[pos] = rng.randrange(0, 0xFF)  # never 0xFF: no new marker
    return bytes(data)
