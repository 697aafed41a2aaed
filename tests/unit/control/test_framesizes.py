"""The framesize tables and how a board's is learned."""

from __future__ import annotations

from relay.control.framesizes import LEGACY_TABLE, NEW_TABLE, FramesizeLearner
from relay.simulator import sensor


def _learn(learner: FramesizeLearner, n: int, size: tuple[int, int], t0: float) -> None:
    """Frames of ``size`` from ``t0``, a /status read of ``n`` one second later, more frames."""
    for i in range(40):
        t = t0 + i * 0.05
        if i == 20:
            learner.on_status(n, t, t + 0.01)
        learner.on_frame_size(size, t)


def test_tables_match_the_protocol_and_the_simulated_board() -> None:
    for legacy, table in ((False, NEW_TABLE), (True, LEGACY_TABLE)):
        sim = sensor.framesize_table(legacy)
        assert [(f.name, f.width, f.height) for f in table.sizes[: len(sim)]] == [
            (f.name, f.width, f.height) for f in sim
        ]
    assert NEW_TABLE.get(15) is not None and NEW_TABLE.get(15).name == "UXGA"  # type: ignore[union-attr]
    assert LEGACY_TABLE.index("SVGA") == 9 and NEW_TABLE.index("SVGA") == 11


def test_learner_tells_the_tables_apart() -> None:
    new = FramesizeLearner(settle=0.5)
    _learn(new, 11, (800, 600), 0.0)
    assert new.table is NEW_TABLE
    legacy = FramesizeLearner(settle=0.5)
    _learn(legacy, 9, (800, 600), 0.0)
    assert legacy.table is LEGACY_TABLE
    # 96X96 and QQVGA have the same numbers in both: nothing to learn.
    same = FramesizeLearner(settle=0.5)
    _learn(same, 1, (160, 120), 0.0)
    assert not same.learned and same.table_or_guess() is NEW_TABLE
    # A size neither table has at that number teaches nothing either.
    odd = FramesizeLearner(settle=0.5)
    _learn(odd, 11, (640, 480), 0.0)
    assert not odd.learned


def test_learner_never_pairs_a_number_with_frames_of_another_moment() -> None:
    # The board (new table) was at SVGA (11, 800x600); someone sets HVGA (9) and /status says
    # 9 while frames of the old size are still arriving: (9, 800x600) would read as legacy.
    learner = FramesizeLearner(settle=0.5)
    for i in range(20):
        learner.on_frame_size((800, 600), i * 0.05)
    learner.on_status(9, 1.0, 1.01)
    for i in range(20, 24):
        learner.on_frame_size((800, 600), i * 0.05)
    for i in range(24, 60):
        learner.on_frame_size((480, 320), i * 0.05)
    assert not learner.learned
    # The frame size changed elsewhere after our last read (still says 11): (11, 480x320)
    # must not count either; the read that follows the change does.
    learner.on_status(11, 0.5, 0.51)
    for i in range(60, 80):
        learner.on_frame_size((480, 320), i * 0.05)
    assert not learner.learned
    learner.on_status(9, 4.0, 4.01)
    for i in range(80, 100):
        learner.on_frame_size((480, 320), i * 0.05)
    assert learner.table is NEW_TABLE


def test_learner_reports_size_changes_and_ignores_bad_status() -> None:
    learner = FramesizeLearner()
    assert learner.on_frame_size((800, 600), 0.0) == (True, False)
    assert learner.on_frame_size((800, 600), 0.1) == (False, False)
    learner.on_status("11", 0.2, 0.2)
    learner.on_status(True, 0.2, 0.2)
    learner.on_status(-1, 0.2, 0.2)
    assert learner.on_frame_size((800, 600), 5.0) == (False, False)
    assert learner.on_frame_size((320, 240), 5.1) == (True, False)
