"""The viewer page's controls panel in headless Chromium steers the simulated board."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from relay.testing.relay import RunningRelay

pytestmark = [pytest.mark.network, pytest.mark.browser]


async def _ready(page: Page) -> None:
    await page.wait_for_function(
        "() => document.querySelector('[data-control-state]').dataset.state === 'ready'"
        " && document.querySelector('#ctl-brightness + output').textContent === '0'",
        timeout=15000,
    )


async def test_dragging_the_brightness_slider_changes_the_board(
    relay: RunningRelay, page: Page
) -> None:
    sim = relay.camera().simulator
    control = relay.camera().control
    assert sim is not None and control is not None
    await page.goto(relay.base + "/")
    await _ready(page)
    # Every group of the board's page is there, filled from the live state.
    legends = await page.eval_on_selector_all(
        "#controls legend", "ls => ls.map(l => l.textContent)"
    )
    assert legends[:6] == [
        "Image",
        "White balance",
        "Exposure",
        "Gain",
        "Corrections",
        "Orientation",
    ]
    assert await page.input_value("#ctl-framesize") == "11"
    assert await page.input_value("#ctl-aec_value") == "168"
    assert await page.is_checked("#ctl-awb")
    # This build has no face detection: that group is not shown; the LED is.
    assert await page.is_hidden("[data-row=face_detect]")
    assert "Face" not in await page.inner_text("#controls")
    assert await page.is_visible("#ctl-led_intensity")

    slider = page.locator("#ctl-brightness")
    box = await slider.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    await page.mouse.move(box["x"] + box["width"] / 2, y)
    await page.mouse.down()
    for i in range(1, 21):  # a drag to the right end, sending while it moves
        await page.mouse.move(box["x"] + box["width"] / 2 + i * box["width"] / 36, y)
    await page.mouse.move(box["x"] + box["width"] + 10, y)
    await page.mouse.up()
    await page.wait_for_function(
        "() => document.querySelector('#ctl-brightness + output').textContent === '2'"
        " && !document.querySelector('.control.pending')",
        timeout=5000,
    )
    assert sim.status()["brightness"] == 2
    assert 1 <= control.forwarder.stats.control_requests <= 10

    await page.check("#ctl-hmirror")
    await page.wait_for_function("() => !document.querySelector('.control.pending')")
    assert sim.status()["hmirror"] == 1


async def test_a_refused_request_shows_as_failed(relay: RunningRelay, page: Page) -> None:
    sim = relay.camera().simulator
    assert sim is not None
    await page.goto(relay.base + "/")
    await _ready(page)
    sim.options.faults.control_500_every = 1
    await page.select_option("#ctl-special_effect", "2")
    await page.wait_for_selector("[data-row=special_effect].failed", timeout=10000)
    text = await page.text_content("[data-control-error]")
    assert text is not None and "camera_rejected" in text
    # The control shows what the camera really has again.
    assert await page.input_value("#ctl-special_effect") == "0"
    sim.options.faults.control_500_every = 0
    await page.select_option("#ctl-special_effect", "2")
    await page.wait_for_function(
        "() => !document.querySelector('.control.failed, .control.pending')", timeout=10000
    )
    assert sim.status()["special_effect"] == 2
    assert await page.is_hidden("[data-control-error]")


async def test_framesize_from_the_page_resizes_the_video_in_place(
    relay: RunningRelay, page: Page
) -> None:
    await page.goto(relay.base + "/")
    await _ready(page)
    await page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 800", timeout=15000
    )
    sessions = set(relay.peers.sessions)
    await page.select_option("#ctl-framesize", label="QVGA (320×240)")
    await page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 320", timeout=15000
    )
    assert set(relay.peers.sessions) == sessions  # the same session: no reconnect
    assert await page.input_value("#ctl-framesize") == "6"
