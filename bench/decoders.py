"""Compare ways to turn a camera JPEG into a limited-range yuv420p av.VideoFrame.

Measures, single-threaded, for 4:2:2 and 4:2:0 JPEGs at several sizes:
  - time from JPEG bytes to a yuv420p VideoFrame (range conversion and copy included)
    and to a BGR array, p50/p95 over --iterations; candidates run interleaved so
    background load hits them alike;
  - which candidates reject truncated, corrupt and non-JPEG input, and how many random
    bursts of noise in the scan data each one notices;
  - whether the decode holds the GIL: how fast Python code in another thread runs while
    a thread decodes, against while that thread sleeps;
  - accuracy: error of the displayed RGB against an exact planar conversion.

Optional candidates are measured when importable: Pillow, imagecodecs, and PyTurboJPEG
when --turbojpeg-lib names a libturbojpeg 3.x shared library. --jpeg measures frames
saved from a real camera instead of the synthetic ones.

    python -m bench.decoders [--iterations 300] [--jpeg frame.jpg ...]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
import simplejpeg
from av.video.codeccontext import VideoCodecContext
from av.video.reformatter import VideoReformatter

from relay.video.decode import JpegDecoder

Y_LUT = np.round(16 + np.arange(256) * (219 / 255)).astype(np.uint8)
C_LUT = np.clip(np.round(128 + (np.arange(256) - 128) * (224 / 255)), 0, 255).astype(np.uint8)
SAMPLING = {
    "422": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_422,
    "420": cv2.IMWRITE_JPEG_SAMPLING_FACTOR_420,
}


@dataclass
class Candidate:
    name: str  # the JPEG -> yuv420p route
    decoder: str  # the library that decodes; names its JPEG -> BGR route
    yuv: Callable[[bytes], av.VideoFrame]
    bgr: Callable[[bytes], np.ndarray] | None


def scene(width: int, height: int, seed: int = 7) -> np.ndarray:
    """A synthetic picture with smooth areas, shapes, text, texture and sensor noise."""
    rng = np.random.default_rng(seed)
    coarse = rng.integers(40, 220, (6, 8, 3), dtype=np.uint8)
    img = cv2.resize(coarse, (width, height), interpolation=cv2.INTER_CUBIC)
    s = width / 800
    for _ in range(25):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        r = int(rng.integers(10, 80) * s) + 1
        if rng.random() < 0.5:
            cv2.circle(img, (x, y), r, colour, -1, cv2.LINE_AA)
        else:
            cv2.rectangle(img, (x, y), (x + 2 * r, y + r), colour, -1)
    for i in range(6):
        pos = (int(20 * s), int((60 + 80 * i) * s))
        thick = max(1, int(2 * s))
        cv2.putText(img, "ESP32-CAM relay 0123456789", pos, 0, 1.2 * s, (255, 255, 255), thick)
    th, tw = height // 3, width // 3
    tex = rng.integers(70, 150, (th // 6 + 1, tw // 6 + 1, 3), dtype=np.uint8)
    img[-th:, -tw:] = cv2.resize(tex, (tw, th), interpolation=cv2.INTER_LINEAR)
    return np.clip(img + rng.normal(0, 1.0, img.shape), 0, 255).astype(np.uint8)


def to_frame(y: np.ndarray, u: np.ndarray, v: np.ndarray) -> av.VideoFrame:
    """Full-range 4:4:4, 4:2:2 or 4:2:0 planes -> new limited-range yuv420p frame."""
    h, w = y.shape[0] & ~1, y.shape[1] & ~1
    frame = av.VideoFrame(w, h, "yuv420p")
    dst_y, dst_u, dst_v = plane_arrays(frame)
    cv2.LUT(y[:h, :w], Y_LUT, dst=dst_y)
    ch, cw = h // 2, w // 2
    for src, dst in ((u, dst_u), (v, dst_v)):
        if src.shape[1] >= 2 * cw:  # 4:4:4: average 2x2 blocks
            src = cv2.resize(src[: 2 * ch, : 2 * cw], (cw, ch), interpolation=cv2.INTER_AREA)
        elif src.shape[0] >= 2 * ch:  # 4:2:2: average pairs of rows
            src = cv2.addWeighted(src[0 : 2 * ch : 2, :cw], 0.5, src[1 : 2 * ch : 2, :cw], 0.5, 0)
        cv2.LUT(src[:ch, :cw], C_LUT, dst=dst)
    return frame


def even(img: np.ndarray) -> np.ndarray:
    """Crop to even width and height, as 4:2:0 needs."""
    return img[: img.shape[0] & ~1, : img.shape[1] & ~1]


def plane_arrays(frame: av.VideoFrame) -> list[np.ndarray]:
    return [
        np.frombuffer(memoryview(p), np.uint8).reshape(p.height, p.line_size)[:, : p.width]
        for p in frame.planes
    ]


def candidates(turbojpeg_lib: str | None) -> list[Candidate]:
    relay = JpegDecoder()
    out = [
        Candidate(
            "relay: simplejpeg BGR + cvtColor I420",
            "relay: simplejpeg",
            relay.decode_yuv420,
            relay.decode_bgr,
        )
    ]

    def sj_fancy_copy(data: bytes) -> av.VideoFrame:
        bgr = even(simplejpeg.decode_jpeg(data, "BGR", strict=True))
        i420 = np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2YUV_I420), np.uint8)
        return av.VideoFrame.from_ndarray(i420, "yuv420p")

    out.append(Candidate("simplejpeg fancy upsampling + from_ndarray", "", sj_fancy_copy, None))

    def imdecode_bgr(data: bytes) -> np.ndarray:
        img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError("imdecode failed")
        return img

    def imdecode_yuv(data: bytes) -> av.VideoFrame:
        i420 = np.asarray(cv2.cvtColor(even(imdecode_bgr(data)), cv2.COLOR_BGR2YUV_I420), np.uint8)
        return av.VideoFrame.from_numpy_buffer(i420, "yuv420p")

    out.append(Candidate("cv2.imdecode + cvtColor", "cv2.imdecode", imdecode_yuv, imdecode_bgr))

    def mjpeg_context() -> VideoCodecContext:
        ctx = VideoCodecContext.create("mjpeg", "r")
        ctx.options = {"err_detect": "explode"}
        return ctx

    mjpeg = [mjpeg_context()]
    sws = VideoReformatter()

    def av_decode(data: bytes) -> av.VideoFrame:
        if not data:  # an empty packet would put the decoder into draining mode
            raise ValueError("empty input")
        try:
            frames = mjpeg[0].decode(av.Packet(data))
        except av.FFmpegError:
            mjpeg[0] = mjpeg_context()  # start clean after an error, as a relay would
            raise
        if not frames:
            raise ValueError("no frame")
        return frames[0]

    def av_sws(data: bytes) -> av.VideoFrame:
        return sws.reformat(
            av_decode(data),
            format="yuv420p",
            src_color_range="JPEG",
            dst_color_range="MPEG",
            threads=1,
        )

    def av_lut(data: bytes) -> av.VideoFrame:
        return to_frame(*plane_arrays(av_decode(data)))

    def av_bgr(data: bytes) -> np.ndarray:
        frame = av_decode(data)
        return sws.reformat(frame, format="bgr24", src_color_range="JPEG", threads=1).to_ndarray()

    out.append(Candidate("PyAV mjpeg + sws", "PyAV mjpeg + sws", av_sws, av_bgr))
    out.append(Candidate("PyAV mjpeg + LUT planes", "", av_lut, None))

    if turbojpeg_lib:
        try:
            import turbojpeg

            tj = turbojpeg.TurboJPEG(turbojpeg_lib)
            flag = turbojpeg.TJFLAG_STOPONWARNING

            def tj_yuv(data: bytes) -> av.VideoFrame:
                return to_frame(*tj.decode_to_yuv_planes(data, flags=flag))

            def tj_bgr(data: bytes) -> np.ndarray:
                return tj.decode(data, flags=flag)

            out.append(Candidate("PyTurboJPEG YUV planes + LUT", "PyTurboJPEG", tj_yuv, tj_bgr))
        except (ImportError, AttributeError, OSError, RuntimeError) as exc:
            print(f"# PyTurboJPEG skipped: {exc}", file=sys.stderr)

    try:
        from PIL import Image

        def pil_yuv(data: bytes) -> av.VideoFrame:
            im = Image.open(io.BytesIO(data))
            im.draft("YCbCr", im.size)
            a = np.asarray(im)
            return to_frame(np.ascontiguousarray(a[..., 0]), a[..., 1].copy(), a[..., 2].copy())

        def pil_bgr(data: bytes) -> np.ndarray:
            return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))[..., ::-1]

        out.append(Candidate("Pillow draft YCbCr + LUT", "Pillow", pil_yuv, pil_bgr))
    except ImportError:
        pass

    try:
        import imagecodecs

        def ic_yuv(data: bytes) -> av.VideoFrame:
            a = imagecodecs.jpeg8_decode(data, outcolorspace="YCBCR")
            return to_frame(np.ascontiguousarray(a[..., 0]), a[..., 1].copy(), a[..., 2].copy())

        def ic_bgr(data: bytes) -> np.ndarray:
            return imagecodecs.jpeg8_decode(data)[..., ::-1]

        out.append(Candidate("imagecodecs jpeg8 YCbCr + LUT", "imagecodecs", ic_yuv, ic_bgr))
    except ImportError:
        pass
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))]


def time_interleaved(fns: dict[str, Callable[[bytes], object]], data: bytes, n: int) -> dict:
    for fn in fns.values():
        for _ in range(5):
            fn(data)
    times: dict[str, list[float]] = {k: [] for k in fns}
    names = list(fns)
    for i in range(n):
        for k in names[i % len(names) :] + names[: i % len(names)]:
            t0 = time.perf_counter()
            fns[k](data)
            times[k].append((time.perf_counter() - t0) * 1e3)
    return {k: (statistics.median(v), percentile(v, 0.95)) for k, v in times.items()}


def damaged(good: bytes) -> dict[str, bytes]:
    sos = good.index(b"\xff\xda")
    start, end = sos + 2 + int.from_bytes(good[sos + 2 : sos + 4], "big"), len(good) - 2
    flipped = bytearray(good)
    for i in range((start + end) // 2, (start + end) // 2 + 8):
        flipped[i] ^= 0x5A
    noise = np.random.default_rng(1).integers(0, 256, 4000, dtype=np.uint8).tobytes()
    return {
        "cut mid-scan": good[: (start + end) // 2],
        "no EOI": good[:-2],
        "flipped scan bytes": bytes(flipped),
        "garbage": noise,
        "empty": b"",
        "PNG": cv2.imencode(".png", scene(64, 48))[1].tobytes(),
    }


def rejects(fn: Callable[[bytes], object], data: bytes) -> bool:
    try:
        fn(data)
    except Exception:  # noqa: BLE001 - any failure counts as a rejection here
        return True
    return False


def noise_detection(fn: Callable[[bytes], object], good: bytes, trials: int) -> int:
    sos = good.index(b"\xff\xda")
    start, end = sos + 2 + int.from_bytes(good[sos + 2 : sos + 4], "big"), len(good) - 2
    rng = np.random.default_rng(3)
    caught = 0
    for t in range(trials):
        bad = bytearray(good)
        at = int(rng.integers(start, end - 16))
        if t % 2:
            bad[at] ^= int(rng.integers(1, 256))
        else:
            bad[at : at + 16] = rng.integers(0, 256, 16, dtype=np.uint8).tobytes()
        caught += rejects(fn, bytes(bad))
    return caught


def gil(fn: Callable[[bytes], object], data: bytes, seconds: float) -> float:
    """How fast Python code in another thread runs while fn decodes, relative to while
    the decoding thread sleeps: near 0 when fn holds the GIL, near 1 when it releases it
    (lower when other processes keep the cores busy). Robust to background load, which
    slows both phases alike."""
    count = [0]
    stop = threading.Event()

    def spin() -> None:
        while not stop.is_set():
            count[0] += 1

    spinner = threading.Thread(target=spin)
    spinner.start()
    busy_time = busy_steps = idle_time = idle_steps = 0.0
    end = time.perf_counter() + seconds
    try:
        while time.perf_counter() < end:
            n0, t0 = count[0], time.perf_counter()
            fn(data)
            n1, t1 = count[0], time.perf_counter()
            time.sleep(t1 - t0)
            n2, t2 = count[0], time.perf_counter()
            busy_steps += n1 - n0
            busy_time += t1 - t0
            idle_steps += n2 - n1
            idle_time += t2 - t1
    finally:
        stop.set()
        spinner.join()
    return (busy_steps / busy_time) / max(idle_steps / idle_time, 1e-9)


def exact_reference(data: bytes) -> np.ndarray:
    """RGB that an exact planar conversion (box-filtered chroma) would display."""
    frame = av.CodecContext.create("mjpeg", "r").decode(av.Packet(data))[0]
    y, u, v = (a.astype(np.float64) for a in plane_arrays(frame))
    h, w = y.shape[0] & ~1, y.shape[1] & ~1

    def box(p: np.ndarray) -> np.ndarray:
        if p.shape[0] >= h:
            p = (p[0:h:2] + p[1:h:2]) / 2
        if p.shape[1] >= w:
            p = (p[:, 0:w:2] + p[:, 1:w:2]) / 2
        return p[: h // 2, : w // 2]

    y, u, v = y[:h, :w], box(u), box(v)
    ref = av.VideoFrame(y.shape[1], y.shape[0], "yuv420p")
    for dst, src, lo, scale, mid in zip(
        plane_arrays(ref), (y, u, v), (16, 128, 128), (219, 224, 224), (0, 128, 128), strict=True
    ):
        dst[:] = np.clip(np.round(lo + (src - mid) * scale / 255), 0, 255).astype(np.uint8)
    return ref.to_ndarray(format="rgb24").astype(np.int16)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--iterations", type=int, default=300)
    ap.add_argument("--sizes", default="320x240,800x600,1600x1200")
    ap.add_argument("--quality", type=int, default=60, help="JPEG quality of the test frames")
    ap.add_argument("--jpeg", action="append", default=[], help="measure these files instead")
    ap.add_argument("--turbojpeg-lib", help="path of a libturbojpeg 3.x for PyTurboJPEG")
    ap.add_argument("--cv-threads", type=int, default=1, help="cv2.setNumThreads (0: default)")
    ap.add_argument("--noise-trials", type=int, default=200)
    ap.add_argument("--gil-seconds", type=float, default=2.0)
    args = ap.parse_args()
    if args.cv_threads:
        cv2.setNumThreads(args.cv_threads)

    inputs: list[tuple[str, bytes]] = []
    if args.jpeg:
        inputs = [(Path(p).name, Path(p).read_bytes()) for p in args.jpeg]
    else:
        for size in args.sizes.split(","):
            w, h = (int(x) for x in size.split("x"))
            img = scene(w, h)
            for sub, flag in SAMPLING.items():
                params = [cv2.IMWRITE_JPEG_QUALITY, args.quality, cv2.IMWRITE_JPEG_SAMPLING_FACTOR]
                data = cv2.imencode(".jpg", img, [*params, flag])[1].tobytes()
                inputs.append((f"{w}x{h} {sub}", data))

    cands = candidates(args.turbojpeg_lib)
    print(
        f"# python {sys.version.split()[0]}, av {av.__version__}, cv2 {cv2.__version__}, "
        f"simplejpeg {simplejpeg.__version__}, cv2 threads {cv2.getNumThreads()}"
    )
    print(f"# {args.iterations} iterations per cell, candidates interleaved; times in ms p50/p95\n")

    tables: list[tuple[str, dict[str, Callable[[bytes], object]]]] = [
        ("yuv420p VideoFrame (limited range)", {c.name: c.yuv for c in cands}),
        ("BGR array", {c.decoder: c.bgr for c in cands if c.bgr is not None}),
    ]
    for title, fns in tables:
        print(f"## JPEG -> {title}\n")
        print("| input | KB | " + " | ".join(fns) + " |")
        print("|---|---|" + "---|" * len(fns))
        for label, data in inputs:
            res = time_interleaved(fns, data, args.iterations)
            cells = " | ".join(f"{res[k][0]:.2f} / {res[k][1]:.2f}" for k in fns)
            print(f"| {label} | {len(data) / 1000:.0f} | {cells} |", flush=True)
        print()

    good_label, good = inputs[len(inputs) // 2]
    kinds = damaged(good)
    print(f"## Bad input ({good_label}): does the yuv path raise?\n")
    print(
        "| candidate | "
        + " | ".join(kinds)
        + f" | random scan noise caught (of {args.noise_trials}) |"
    )
    print("|---|" + "---|" * (len(kinds) + 1))
    for c in cands:
        marks = " | ".join("raises" if rejects(c.yuv, d) else "**picture**" for d in kinds.values())
        print(f"| {c.name} | {marks} | {noise_detection(c.yuv, good, args.noise_trials)} |")
    print()

    big_label, big = inputs[-1]
    finals = inputs[-2:]
    print(f"## GIL ({big_label}) and accuracy\n")
    print(
        "Python in another thread: its speed while this candidate decodes, relative to its"
        " speed while the decoding thread sleeps (0: the GIL is held throughout). RGB error:"
        " displayed picture against an exact planar conversion with box-filtered chroma,"
        " mean / p99 in levels of 255.\n"
    )
    print(
        "| candidate | other thread's speed | "
        + " | ".join(f"RGB err {k}" for k, _ in finals)
        + " |"
    )
    print("|---|---|" + "---|" * len(finals))
    refs = [exact_reference(data) for _, data in finals]
    for c in cands:
        speed = gil(c.yuv, big, args.gil_seconds)
        errs = []
        for (_, data), ref in zip(finals, refs, strict=True):
            got = c.yuv(data).to_ndarray(format="rgb24").astype(np.int16)
            err = np.abs(got[: ref.shape[0], : ref.shape[1]] - ref)
            errs.append(f"{err.mean():.2f} / {np.percentile(err, 99):.0f}")
        print(f"| {c.name} | {speed * 100:.0f} % | " + " | ".join(errs) + " |", flush=True)
    blank = " | ".join("" for _ in finals)
    for label, ref_fn in (
        ("(scale) pure Python loop", lambda _: sum(range(20_000))),
        ("(scale) time.sleep(2 ms)", lambda _: time.sleep(0.002)),
    ):
        print(f"| {label} | {gil(ref_fn, big, args.gil_seconds) * 100:.0f} % | {blank} |")


if __name__ == "__main__":
    main()
