"""Built-in processors on synthetic frames, the simulator's scene and a real photograph."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from relay.processing.processors import (
    BUILTINS,
    FrameContext,
    Param,
    ParamError,
    Processor,
    UnknownProcessor,
    builtin_names,
    resolve,
)
from relay.processing.processors.faces import Faces
from relay.processing.processors.motion import Motion
from relay.simulator.scene import RenderSettings, SceneRenderer

W, H = 800, 600


def ctx(seq: int = 0, wall: float = 1_700_000_000.0, events: list | None = None) -> FrameContext:
    sink = events if events is not None else []
    return FrameContext(seq, wall, sink.append, "test")


def gradient(w: int = W, h: int = H) -> np.ndarray:
    """A colourful frame whose corners differ, so orientation changes are visible."""
    y, x = np.mgrid[0:h, 0:w]
    img = np.zeros((h, w, 3), np.uint8)
    img[..., 0] = (x * 255 // max(1, w - 1)).astype(np.uint8)
    img[..., 1] = (y * 255 // max(1, h - 1)).astype(np.uint8)
    img[..., 2] = 200
    return img


def run(name: str, frame: np.ndarray, **params: object) -> np.ndarray:
    out = resolve(name)(params).process(frame, ctx())
    assert out.dtype == np.uint8 and out.ndim == 3 and out.shape[2] == 3
    return out


# ---- geometry


@pytest.mark.parametrize("angle", [90, 270])
def test_quarter_rotation_swaps_width_and_height(angle: int) -> None:
    src = gradient()
    out = run("rotate", src.copy(), angle=angle)
    assert out.shape == (W, H, 3)
    expected = np.rot90(src, k=-1 if angle == 90 else 1)  # clockwise for 90
    assert np.array_equal(out, expected)


def test_half_turn_keeps_size_and_moves_corners() -> None:
    src = gradient()
    out = run("rotate", src.copy(), angle=180)
    assert out.shape == src.shape
    assert np.array_equal(out[0, 0], src[-1, -1]) and np.array_equal(out[-1, -1], src[0, 0])


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        ("horizontal", lambda a: a[:, ::-1]),
        ("vertical", lambda a: a[::-1]),
        ("both", lambda a: a[::-1, ::-1]),
    ],
)
def test_flip(mode: str, expected) -> None:
    src = gradient()
    assert np.array_equal(run("flip", src.copy(), mode=mode), expected(src))


def test_crop_cuts_the_region_and_clips_at_the_edges() -> None:
    src = gradient()
    out = run("crop", src.copy(), x=100, y=50, width=320, height=240)
    assert out.shape == (240, 320, 3)
    assert np.array_equal(out, src[50:290, 100:420])
    out = run("crop", src.copy(), x=700, y=500, width=400, height=400)
    assert out.shape == (100, 100, 3)
    out = run("crop", src.copy(), x=200)  # 0: to the edge
    assert out.shape == (H, W - 200, 3)


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({"width": 320, "height": 240}, (320, 240)),
        ({"width": 400}, (400, 300)),
        ({"width": 0, "height": 150}, (200, 150)),
    ],
)
def test_resize_has_the_new_size(params: dict, size: tuple[int, int]) -> None:
    out = run("resize", gradient(), **params)
    assert (out.shape[1], out.shape[0]) == size
    # Content scaled, not cropped: the far corner keeps its colour.
    assert abs(int(out[-1, -1, 0]) - 255) < 8 and abs(int(out[-1, -1, 1]) - 255) < 8


# ---- picture


def test_grayscale_has_equal_channels_and_keeps_luma() -> None:
    src = gradient()
    out = run("grayscale", src.copy())
    assert np.array_equal(out[..., 0], out[..., 1]) and np.array_equal(out[..., 1], out[..., 2])
    assert np.array_equal(out[..., 0], cv2.cvtColor(src, cv2.COLOR_BGR2GRAY))


def test_privacy_mask_pixels_are_the_mask_colour_and_the_rest_is_untouched() -> None:
    src = gradient()
    rects = [[10, 20, 100, 50], [700, 500, 200, 200]]  # the second runs off the frame
    out = run("privacy", src.copy(), rects=rects, color="#ff8000")
    assert (out[20:70, 10:110] == (0, 128, 255)).all()
    assert (out[500:, 700:] == (0, 128, 255)).all()
    untouched = np.ones((H, W), bool)
    untouched[20:70, 10:110] = False
    untouched[500:, 700:] = False
    assert np.array_equal(out[untouched], src[untouched])


def test_clahe_lifts_detail_in_a_dark_low_contrast_frame() -> None:
    # A dim scene: shapes only a few levels apart, as a board sees them at night.
    y, x = np.mgrid[0:H, 0:W]
    luma = (20 + 6 * (((x // 40) + (y // 40)) % 2)).astype(np.uint8)
    dark = cv2.cvtColor(luma, cv2.COLOR_GRAY2BGR)
    out = run("clahe", dark.copy())
    out_luma = cv2.cvtColor(out, cv2.COLOR_BGR2GRAY).astype(np.float32)

    def detail(img: np.ndarray) -> float:
        img = img.astype(np.float32)
        return float(np.abs(img - cv2.blur(img, (15, 15))).mean())

    assert detail(out_luma) > 1.3 * detail(luma)
    assert out_luma.mean() > luma.mean()
    # A higher clip limit lifts more.
    strong = cv2.cvtColor(run("clahe", dark.copy(), clip_limit=8.0), cv2.COLOR_BGR2GRAY)
    assert detail(strong) > 1.3 * detail(out_luma)


def test_edges_are_white_on_black_at_the_boundaries() -> None:
    src = np.zeros((H, W, 3), np.uint8)
    src[200:400, 300:500] = 255
    out = run("edges", src)
    assert set(np.unique(out)) <= {0, 255}
    assert out[200:400, 298:303].max() == 255  # the left boundary
    assert out[250:350, 350:450].max() == 0  # inside
    assert out[:150].max() == 0  # far away
    over = run("edges", src.copy(), overlay=True, color="#00ff00")
    assert (over[250:350, 350:450] == 255).all()  # the picture stays
    assert ((over == (0, 255, 0)).all(axis=2)).any()


def test_text_and_timestamp_draw_in_their_corner_only() -> None:
    src = np.full((H, W, 3), 90, np.uint8)
    out = run("text", src.copy(), text="garage", position="top-left", color="#ffff00")
    changed = (out != src).any(axis=2)
    ys, xs = np.nonzero(changed)
    assert changed.any() and ys.max() < H // 4 and xs.max() < W // 2
    assert ((out == (0, 255, 255)).all(axis=2)).any()  # the text colour, BGR
    stamp = resolve("timestamp")({"format": "%H:%M:%S", "position": "bottom-right"})
    out = stamp.process(src.copy(), ctx(wall=0.0))
    ys, xs = np.nonzero((out != src).any(axis=2))
    assert ys.min() > H // 2 and xs.min() > W // 2


def test_timestamp_follows_the_frame_time() -> None:
    stamp = resolve("timestamp")({"format": "%S"})
    a = stamp.process(np.zeros((H, W, 3), np.uint8), ctx(wall=1_700_000_001.0))
    b = stamp.process(np.zeros((H, W, 3), np.uint8), ctx(wall=1_700_000_007.0))
    assert not np.array_equal(a, b)


# ---- motion


def _scene(t: float, counter: int, still: bool = False) -> np.ndarray:
    # The renderer draws the scene at wall time t: the ball slides, the clock changes.
    renderer = _RENDERER
    return renderer.image(RenderSettings(), 1000.0 if still else t, 0 if still else counter)


_RENDERER = SceneRenderer()


def _ball_box(t: float) -> tuple[int, int, int, int]:
    """Where the simulator draws its ball at time t (see SceneRenderer._draw_dynamic)."""
    r = max(4, H // 10)
    phase = (t % 4.0) / 4.0
    tri = 2 * phase if phase < 0.5 else 2 - 2 * phase
    cx = int(r + (W - 2 * r) * tri)
    cy = int(H * 0.62)
    return cx - r, cy - r, 2 * r, 2 * r


def _overlap(a: list[int] | tuple[int, ...], b: tuple[int, int, int, int]) -> bool:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    return ax < bx + bw and bx < ax + aw and ay < by + bh and by < ay + ah


def test_motion_boxes_overlap_the_simulators_moving_ball_and_events_are_rate_limited() -> None:
    motion = Motion({"min_interval": 1.0})
    events: list[dict] = []
    hits = 0
    frames = 50
    for i in range(frames):
        t = 1000.0 + i * 0.04  # 25 fps for two seconds
        frame = _scene(t, i)
        out = motion.process(frame, ctx(i, t, events))
        if i >= 10:
            boxes = motion.last_boxes
            assert boxes, f"no motion found in frame {i}"
            if any(_overlap(b, _ball_box(t)) for b in boxes):
                hits += 1
    assert hits >= frames - 10 - 2
    # Boxes are drawn in the motion colour.
    assert ((out == (0x30, 0x30, 0xFF)).all(axis=2)).any()
    # Two seconds of motion, at most one event a second.
    assert 1 <= len(events) <= 3
    for ev in events:
        assert ev["kind"] == "motion" and (ev["width"], ev["height"]) == (W, H)
        assert any(_overlap(b, _ball_box(ev["time"])) for b in ev["boxes"])


def test_a_still_scene_yields_no_motion_and_no_events() -> None:
    motion = Motion({"min_interval": 0.0})
    events: list[dict] = []
    for i in range(40):
        frame = _scene(1000.0, i, still=True)
        out = motion.process(frame.copy(), ctx(i, 1000.0 + i * 0.04, events))
        assert motion.last_boxes == []
        assert np.array_equal(out, frame)
    assert events == []


# ---- faces


def test_faces_finds_the_astronauts_face() -> None:
    data = pytest.importorskip("skimage.data", reason="scikit-image is a test dependency")
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # 512x512, one face
    faces = Faces({"min_interval": 0.0})
    events: list[dict] = []
    out = faces.process(photo.copy(), ctx(events=events))
    assert len(faces.last_boxes) == 1
    x, y, w, h = faces.last_boxes[0]
    # Eileen Collins' face is around x 170..270, y 60..170 in this picture.
    assert _overlap([x, y, w, h], (180, 70, 80, 90)) and 60 <= w <= 160
    assert ((out == (0x30, 0xFF, 0x30)).all(axis=2)).any()
    assert events and events[0]["kind"] == "faces" and events[0]["boxes"] == [[x, y, w, h]]


def test_faces_finds_none_in_the_simulators_scene() -> None:
    faces = Faces()
    for i in range(5):
        frame = _scene(1000.0 + i * 0.7, i)
        out = faces.process(frame.copy(), ctx(i))
        assert faces.last_boxes == []
        assert np.array_equal(out, frame)


def test_faces_every_nth_frame_reuses_the_last_boxes() -> None:
    data = pytest.importorskip("skimage.data")
    photo = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    faces = Faces({"every": 3})
    faces.process(photo.copy(), ctx(0))
    found = faces.last_boxes
    blank = np.zeros_like(photo)
    faces.process(blank.copy(), ctx(1))
    assert faces.last_boxes == found  # not detected again yet
    faces.process(blank.copy(), ctx(2))
    faces.process(blank.copy(), ctx(3))
    assert faces.last_boxes == []


# ---- schema and registry


def test_every_builtin_has_a_name_a_schema_and_valid_defaults() -> None:
    names = builtin_names()
    assert len(set(names)) == len(names) == len(BUILTINS)
    assert {"rotate", "flip", "crop", "resize", "timestamp", "text", "grayscale", "clahe",
            "edges", "privacy", "motion", "faces"} == set(names)  # fmt: skip
    for cls in BUILTINS:
        described = cls.describe()
        assert described["name"] == cls.name and described["label"]
        defaults = {p["name"]: p["default"] for p in described["schema"]}
        assert cls.check_params({}) == cls.check_params(defaults)
        out = cls().process(gradient(320, 240), ctx())
        assert out.dtype == np.uint8 and out.shape[2] == 3


@pytest.mark.parametrize(
    ("name", "params", "fragment"),
    [
        ("rotate", {"angle": 45}, "one of"),
        ("rotate", {"angel": 90}, "unknown parameter"),
        ("resize", {"width": 99999}, "out of range"),
        ("resize", {"width": "640"}, "number"),
        ("resize", {"width": 10.5}, "whole number"),
        ("resize", {"width": True}, "number"),
        ("motion", {"min_area": float("nan")}, "finite"),
        ("edges", {"overlay": "yes"}, "true or false"),
        ("text", {"text": "x" * 500}, "at most"),
        ("text", {"color": "red"}, "#rrggbb"),
        ("privacy", {"rects": [[0, 0, 10]]}, "[x, y, w, h]"),
        ("privacy", {"rects": [[0, 0, -5, 10]]}, "w, h > 0"),
        ("privacy", {"rects": [[0, 0, 5, 5]] * 33}, "at most 32"),
    ],
)
def test_parameters_are_checked_like_camera_controls(
    name: str, params: dict, fragment: str
) -> None:
    with pytest.raises(ParamError, match=None) as info:
        resolve(name)(params)
    assert fragment in str(info.value)


def test_parameters_take_canonical_forms() -> None:
    assert resolve("resize")({"width": 320.0}).params["width"] == 320
    assert resolve("edges")({"overlay": 1}).params["overlay"] is True
    assert resolve("text")({"color": "#A0B0C0"}).params["color"] == "#a0b0c0"
    assert resolve("privacy")({"rects": [(1, 2, 3, 4)]}).params["rects"] == [[1, 2, 3, 4]]


class Invert(Processor):
    """A user processor, as a user would write it (loaded as ``test_processors:Invert``)."""

    name = "invert"
    label = "Invert"
    schema = (Param("amount", "float", 1.0, min=0.0, max=1.0),)

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        inverted = 255 - frame
        a = self.params["amount"]
        return cv2.addWeighted(inverted, a, frame, 1 - a, 0)


def test_user_processors_load_from_an_import_path() -> None:
    cls = resolve(f"{__name__}:Invert")
    assert cls is Invert
    out = cls({"amount": 1.0}).process(gradient(), ctx())
    assert np.array_equal(out, 255 - gradient())


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("sharpen", "unknown processor"),
        ("no_such_module_here:X", "cannot import"),
        ("relay.processing.processors:Nope", "has no"),
        ("relay.processing.processors:builtin_names", "subclass"),
    ],
)
def test_unknown_processors_are_refused_with_the_reason(spec: str, fragment: str) -> None:
    with pytest.raises(UnknownProcessor) as info:
        resolve(spec)
    assert fragment in str(info.value)
