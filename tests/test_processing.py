"""The processor chain: order, live changes from other threads, failures, timing, config,
and the HTTP API against the real relay over loopback."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import numpy as np
import pytest
from relayserver import RunningRelay, running_relay

from relay.config import CameraConfig, ConfigError, ProcessorConfig, RelayConfig, load_toml
from relay.pipeline import CameraPipeline
from relay.processing import CameraChannel, CameraProcessing, metrics_text
from relay.processors import FrameContext, Processor

W, H = 320, 240


def frame(value: int = 100) -> np.ndarray:
    img = np.full((H, W, 3), value, np.uint8)
    img[:, :, 2] = 200  # some colour, so grayscale shows
    return img


class Boom(Processor):
    """Raises on every frame after ``after`` good ones."""

    name = "boom"
    label = "Boom"

    def __init__(self, params: Any = None) -> None:
        super().__init__(params)
        self.calls = 0

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        self.calls += 1
        if self.calls > 2:
            raise RuntimeError("boom on purpose")
        return frame


class AddOne(Processor):
    """Adds 1 to blue: the order of two such stages is visible in the result."""

    name = "add_one"

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        frame[..., 0] += 1
        return frame


class Double(Processor):
    name = "double"

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        frame[..., 0] *= 2
        return frame


class NotAnImage(Processor):
    name = "not_an_image"

    def process(self, frame: np.ndarray, ctx: FrameContext) -> np.ndarray:
        return frame[..., 0]  # one channel: the encoder could not take it


def spec(name: str, **kw: Any) -> ProcessorConfig:
    return ProcessorConfig(name=name, **kw)


USER = f"{__name__}"


def test_without_configuration_every_builtin_is_listed_and_off() -> None:
    installed: list[Any] = []
    proc = CameraProcessing("cam", None, installed.append)
    listed = proc.describe()
    assert [s["id"] for s in listed][:4] == ["rotate", "flip", "crop", "resize"]
    assert len(listed) == 12 and not any(s["enabled"] for s in listed)
    assert installed == [None]  # nothing to do: the pipeline keeps its plain path


def test_stages_run_in_order_and_reorder_changes_the_result() -> None:
    installed: list[Any] = []
    proc = CameraProcessing(
        "cam", [spec(f"{USER}:AddOne"), spec(f"{USER}:Double")], installed.append
    )
    chain = installed[-1]
    assert chain is proc.chain and chain.active
    assert chain(frame(10))[0, 0, 0] == (10 + 1) * 2
    proc.reorder(["double"])
    assert installed[-1](frame(10))[0, 0, 0] == 10 * 2 + 1
    assert [s["id"] for s in proc.describe()] == ["double", "add_one"]
    # The old chain object is unchanged: a frame in flight finishes with it.
    assert chain(frame(10))[0, 0, 0] == 22


def test_enable_disable_and_params_swap_the_installed_chain() -> None:
    installed: list[Any] = []
    proc = CameraProcessing("cam", None, installed.append)
    proc.enable("grayscale")
    out = installed[-1](frame())
    assert (out[..., 0] == out[..., 2]).all()
    proc.enable("resize")
    proc.set_params("resize", {"width": 160})
    out = installed[-1](frame())
    assert out.shape == (120, 160, 3)
    assert proc.chain.get("resize").params["width"] == 160  # type: ignore[union-attr]
    proc.disable("grayscale")
    proc.disable("resize")
    assert installed[-1] is None


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ({"action": "enable", "processor": "nope"}, "no processor 'nope'"),
        ({"action": "enable"}, "needs 'processor'"),
        ({"action": "set", "processor": "resize", "params": {"width": -1}}, "out of range"),
        ({"action": "set", "processor": "resize", "params": [1]}, "must be an object"),
        ({"action": "reorder", "order": "resize"}, "list of processor ids"),
        ({"action": "reorder", "order": ["resize", "resize"]}, "twice"),
        ({"action": "add", "name": "os:system"}, "cannot add"),
        ({"action": "add", "name": "text", "processor": "rotate"}, "already in the chain"),
        ({"action": "fly"}, "unknown action"),
    ],
)
async def test_bad_requests_are_answered_invalid_and_change_nothing(
    message: dict[str, Any], fragment: str
) -> None:
    proc = CameraProcessing("cam")
    before = proc.describe(timing=False)
    reply = await proc.handle({"op": "processors", **message})
    assert reply["ok"] is False and reply["error"] == "invalid"
    assert fragment in reply["message"]
    assert proc.describe(timing=False) == before


async def test_add_and_remove_a_second_text_overlay() -> None:
    proc = CameraProcessing("cam", [spec("text")])
    reply = await proc.handle(
        {"action": "add", "name": "text", "params": {"text": "two"}, "index": 0}
    )
    assert reply["ok"]
    assert [s["id"] for s in reply["processors"]] == ["text-2", "text"]
    assert reply["processors"][0]["params"]["text"] == "two"
    reply = await proc.handle({"action": "remove", "processor": "text"})
    assert [s["id"] for s in reply["processors"]] == ["text-2"]


async def test_a_raising_processor_is_disabled_with_an_error_event_and_frames_go_on() -> None:
    installed: list[Any] = []
    proc = CameraProcessing("cam", [spec(f"{USER}:Boom"), spec("grayscale")], installed.append)
    proc.start()
    pushed: list[dict[str, Any]] = []
    proc.subscribe(pushed.append)
    first = installed[-1]

    def worker() -> list[np.ndarray]:
        outs = []
        for _ in range(5):
            chain = installed[-1]  # as the pipeline does: the newest chain per frame
            outs.append(chain(frame()))
        return outs

    outs = await asyncio.to_thread(worker)
    # The frames kept coming, still processed by the stages that work.
    assert len(outs) == 5 and all((o[..., 0] == o[..., 2]).all() for o in outs)
    assert installed[-1] is not first
    boom = proc.chain.get("boom")
    assert boom is not None and not boom.enabled and "boom on purpose" in (boom.error or "")
    await asyncio.sleep(0.05)  # events cross from the worker thread to the loop
    errors = [m for m in pushed if m.get("kind") == "processor_error"]
    assert len(errors) == 1
    assert errors[0] == {
        "op": "event",
        "camera": "cam",
        "kind": "processor_error",
        "processor": "boom",
        "message": "RuntimeError: boom on purpose",
    }
    states = [m for m in pushed if m.get("op") == "processors"]
    assert states[-1]["processors"][0]["enabled"] is False
    assert states[-1]["processors"][0]["errors"] == 1
    # Enabling it again is allowed: a fresh instance.
    reply = await proc.handle({"action": "enable", "processor": "boom"})
    assert reply["ok"] and reply["processors"][0]["error"] is None


def test_a_processor_returning_something_else_than_an_image_is_disabled() -> None:
    installed: list[Any] = []
    proc = CameraProcessing("cam", [spec(f"{USER}:NotAnImage")], installed.append)
    out = installed[-1](frame())
    assert out.shape == (H, W, 3)
    stage = proc.chain.get("not_an_image")
    assert stage is not None and not stage.enabled and "HxWx3" in (stage.error or "")
    assert installed[-1] is None


def test_each_stage_is_timed() -> None:
    installed: list[Any] = []
    proc = CameraProcessing("cam", [spec("grayscale"), spec("edges")], installed.append)
    for _ in range(7):
        installed[-1](frame())
    for stage in proc.describe():
        assert stage["ms"]["count"] == 7 and stage["ms"]["p50"] >= 0
    text = metrics_text([proc])
    assert 'esp32_relay_processor_seconds_count{camera="cam",processor="edges"} 7' in text
    assert 'esp32_relay_processor_enabled{camera="cam",processor="grayscale"} 1' in text
    assert 'esp32_relay_processor_seconds{camera="cam",processor="edges",quantile="0.5"}' in text


def test_changes_from_many_threads_while_frames_flow_stay_consistent() -> None:
    installed: list[Any] = [None]
    proc = CameraProcessing("cam", None, installed.append)
    stop = threading.Event()
    failures: list[BaseException] = []
    processed = 0

    def frames() -> None:
        nonlocal processed
        while not stop.is_set():
            chain = installed[-1]
            if chain is not None:
                out = chain(frame())
                assert out.dtype == np.uint8 and out.shape[2] == 3
                processed += 1

    def changes(seed: int) -> None:
        rng = np.random.default_rng(seed)
        ids = ["grayscale", "flip", "rotate", "edges", "resize", "text"]
        try:
            for _ in range(60):
                sid = ids[rng.integers(len(ids))]
                if rng.random() < 0.5:
                    proc.enable(sid)
                else:
                    proc.disable(sid)
                if rng.random() < 0.2:
                    proc.reorder(list(rng.permutation(ids)))
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    worker = threading.Thread(target=frames)
    worker.start()
    threads = [threading.Thread(target=changes, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    stop.set()
    worker.join(30)
    assert not failures and processed > 0
    ids = [s["id"] for s in proc.describe()]
    assert sorted(ids) == sorted(set(ids)) and len(ids) == 12
    assert not any(s["error"] for s in proc.describe())


async def test_channel_handler_routes_processors_here_and_the_rest_to_control() -> None:
    class Control:
        def __init__(self) -> None:
            self.seen: list[Any] = []

        async def handle(self, message: Any) -> dict[str, Any]:
            self.seen.append(message)
            return {"ok": True, "var": "brightness", "val": 1}

        def subscribe(self, push: Any) -> Any:
            push({"op": "state"})
            return lambda: None

    control = Control()
    channel = CameraChannel(control, CameraProcessing("cam"))
    pushed: list[dict[str, Any]] = []
    channel.subscribe(pushed.append)
    assert [m["op"] for m in pushed] == ["state", "processors"]
    reply = await channel.handle({"op": "processors", "action": "list"})
    assert reply["ok"] and len(reply["available"]) == 12 and not control.seen
    assert (await channel.handle({"op": "set", "var": "brightness", "val": 1}))["ok"]
    assert len(control.seen) == 1
    alone = CameraChannel(None, CameraProcessing("cam"))
    assert (await alone.handle({"op": "get"}))["error"] == "invalid"


# ---- configuration


def test_processors_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "relay.toml"
    path.write_text(
        f"""
[[cameras]]
name = "garage"

[[cameras.processors]]
name = "rotate"
params = {{ angle = 90 }}

[[cameras.processors]]
name = "motion"
enabled = false
[cameras.processors.params]
min_area = 0.01

[[cameras.processors]]
name = "{USER}:AddOne"
id = "plus"
"""
    )
    cfg = load_toml(path)
    procs = cfg.cameras[0].processors
    assert procs is not None
    assert [p.name for p in procs] == ["rotate", "motion", f"{USER}:AddOne"]
    assert procs[0].params == {"angle": 90} and procs[1].enabled is False
    proc = CameraProcessing("garage", procs)
    assert [s["id"] for s in proc.describe()] == ["rotate", "motion", "plus"]
    # A class the config named may be added again over the network; others may not.
    assert f"{USER}:AddOne" in proc.allowed and "os:system" not in proc.allowed


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ('name = "sharpen"', "unknown processor"),
        ('name = "rotate"\nparams = { angle = 45 }', "one of"),
        ('name = "rotate"\ncolour = 1', "unknown setting"),
        ("params = {}", "needs name"),
        ('name = "rotate"\nenabled = "yes"', "must be bool"),
        ('name = "no_such_module_here:X"', "cannot import"),
    ],
)
def test_bad_processor_config_is_refused_at_startup(
    tmp_path: Path, body: str, fragment: str
) -> None:
    path = tmp_path / "relay.toml"
    path.write_text(f"[[cameras]]\nname = 'c'\n[[cameras.processors]]\n{body}\n")
    with pytest.raises(ConfigError) as info:
        load_toml(path)
    assert fragment in str(info.value)


def test_duplicate_ids_in_config_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "relay.toml"
    path.write_text(
        "[[cameras]]\nname='c'\n[[cameras.processors]]\nname='text'\nid='a'\n"
        "[[cameras.processors]]\nname='rotate'\nid='a'\n"
    )
    with pytest.raises(ConfigError, match="already in the chain"):
        load_toml(path)


# ---- the pipeline runs the installed chain in its worker thread


def test_pipeline_times_the_chain_separately() -> None:
    import cv2

    from relay.config import EncoderConfig
    from relay.pipeline import JpegFrame

    pipeline = CameraPipeline("t", EncoderConfig())
    try:
        proc = CameraProcessing("t", [spec("resize", params={"width": 160})])
        pipeline.processor = proc.chain
        ok, jpeg = cv2.imencode(".jpg", frame())
        assert ok
        result = pipeline._work(JpegFrame(jpeg.tobytes(), 1, time.perf_counter()), 0, True)
        assert result is not None and (result.width, result.height) == (160, 120)
        assert 0 < result.processing < result.decoded - result.started
    finally:
        pipeline.close()


# ---- HTTP, against the real relay


@pytest.fixture
async def relay() -> AsyncIterator[RunningRelay]:
    cfg = RelayConfig(
        host="127.0.0.1",
        port=0,
        cameras=(CameraConfig(processors=(spec("grayscale", enabled=False), spec("motion"))),),
    )
    async with running_relay(cfg) as r:
        yield r


async def test_http_lists_changes_and_replaces_the_chain(
    relay: RunningRelay, http: aiohttp.ClientSession
) -> None:
    url = f"{relay.base}/api/cameras/default/processors"
    async with http.get(url) as r:
        assert r.status == 200
        body = await r.json()
    assert [(s["id"], s["enabled"]) for s in body["processors"]] == [
        ("grayscale", False),
        ("motion", True),
    ]
    assert {a["name"] for a in body["available"]} >= {"faces", "grayscale"}
    assert body["events"] == []
    async with http.post(url, json={"action": "enable", "processor": "grayscale", "id": 7}) as r:
        assert r.status == 200
        reply = await r.json()
    assert reply["id"] == 7 and reply["ok"] and reply["processors"][0]["enabled"]
    assert relay.camera().pipeline.processor is relay.camera().processing.chain
    async with http.post(
        url, json={"action": "set", "processor": "motion", "params": {"x": 1}}
    ) as r:
        assert r.status == 400
        reply = await r.json()
    assert reply["error"] == "invalid" and "unknown parameter" in reply["message"]
    async with http.put(url, json=[{"name": "flip", "params": {"mode": "vertical"}}]) as r:
        assert r.status == 200
        reply = await r.json()
    assert [s["id"] for s in reply["processors"]] == ["flip"]
    async with http.put(url, json=[{"name": "os:system"}]) as r:
        assert r.status == 400
    async with http.put(url, data=b"{nope") as r:
        assert r.status == 400 and (await r.json())["error"] == "invalid"
    async with http.get(f"{relay.base}/api/cameras/nope/processors") as r:
        assert r.status == 404
    async with http.get(f"{relay.base}/api/cameras/default") as r:
        info = await r.json()
    assert info["processing"] == [
        {
            "id": "flip",
            "name": "flip",
            "enabled": True,
            "error": None,
            "ms": info["processing"][0]["ms"],
        }
    ]
    assert "process" in info["pipeline"]["latency_ms"]
    async with http.get(f"{relay.base}/metrics") as r:
        assert r.status == 200 and r.content_type == "text/plain"
        text = await r.text()
    assert 'esp32_relay_processor_enabled{camera="default",processor="flip"} 1' in text
