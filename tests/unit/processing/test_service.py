"""A camera's processing: live changes, errors, events, threads."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import numpy as np
import pytest

from relay.processing.service import CameraProcessing

from .stages import USER, frame, spec


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
