"""The viewer page in headless Chromium plays the camera through the relay."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from relay.testing.relay import RunningRelay, running_relay

pytestmark = [pytest.mark.network, pytest.mark.browser]

# The counter of the frame code in the playing video, with the relay's own reader.
READ_COUNTER = """
async () => {
  const v = document.getElementById("video");
  const { CodeReader } = await import("/static/framecode.js");
  return new CodeReader().read(v, v.videoWidth, v.videoHeight)[1];
}
"""


async def _playing(page: Page, width: int | None = 800) -> None:
    """Playing the full layer (a new viewer starts lower and is probed up); any size
    when ``width`` is None."""
    await page.wait_for_function(
        "w => { const v = document.getElementById('video');"
        " return v && v.videoWidth > 0 && (w === null || v.videoWidth === w)"
        " && v.currentTime > 0; }",
        arg=width,
        timeout=15000,
    )


async def test_page_plays_live_video(relay: RunningRelay, page: Page) -> None:
    await page.goto(relay.base + "/")
    await _playing(page)
    assert await page.eval_on_selector("#video", "v => v.videoWidth") == 800
    assert await page.eval_on_selector("#video", "v => v.videoHeight") == 600
    frames0 = await page.eval_on_selector(
        "#video", "v => v.getVideoPlaybackQuality().totalVideoFrames"
    )
    counter0 = await page.evaluate(READ_COUNTER)
    await page.wait_for_timeout(3000)
    frames1 = await page.eval_on_selector(
        "#video", "v => v.getVideoPlaybackQuality().totalVideoFrames"
    )
    counter1 = await page.evaluate(READ_COUNTER)
    # About 75 frames in 3 s at 25 fps; the frame counter in the picture moved on as much.
    assert frames1 - frames0 >= 50, (frames0, frames1)
    assert 50 <= (counter1 - counter0) % 65536 <= 100, (counter0, counter1)
    assert await page.text_content("#state") == "connected"
    # The stats panel fills in from getStats.
    await page.wait_for_function(
        "() => document.querySelector('[data-stat=resolution]').textContent.includes('800')",
        timeout=5000,
    )
    rtt = await page.text_content("[data-stat=rtt]")
    fps = await page.text_content("[data-stat=fps]")
    assert rtt is not None and "ms" in rtt
    assert fps is not None and "fps" in fps
    (session,) = relay.peers.sessions.values()
    assert session.track.mode == "direct"
    # The playout-delay extension is only accepted when configured (off by default).
    assert session.track.playout_delay_id is None


async def test_zero_playout_delay_is_negotiated_when_configured(page: Page) -> None:
    from dataclasses import replace

    from relay.config import RelayConfig

    cfg = replace(RelayConfig(host="127.0.0.1", port=0), zero_playout_delay=True)
    async with running_relay(cfg) as relay:
        await page.goto(relay.base + "/")
        await _playing(page)
        (session,) = relay.peers.sessions.values()
        # Chromium offered the extension; the relay accepted it and sends min = max = 0.
        assert session.track.playout_delay_id is not None
        assert session.track.writer is not None
        frames0 = await page.eval_on_selector(
            "#video", "v => v.getVideoPlaybackQuality().totalVideoFrames"
        )
        await page.wait_for_timeout(1000)
        frames1 = await page.eval_on_selector(
            "#video", "v => v.getVideoPlaybackQuality().totalVideoFrames"
        )
        assert frames1 - frames0 >= 15


async def test_page_shows_a_clear_message_when_it_cannot_connect(
    relay: RunningRelay, page: Page
) -> None:
    # The relay refuses the offer (no such camera): the page says so and keeps trying.
    await page.goto(relay.base + "/")
    await _playing(page)
    await page.evaluate(
        "() => { const s = window.relaySession; s.endpoint = '/cameras/missing/whep';"
        " s.scheduleRetry('test'); }"
    )
    await page.wait_for_function(
        "() => document.getElementById('message').textContent.includes('no camera named')",
        timeout=10000,
    )
    assert await page.is_visible("#message")
    assert await page.text_content("#state") == "reconnecting"


async def test_an_unreachable_camera_is_what_the_page_shows_first(page: Page) -> None:
    """A board that is gone: the relay connects, the page says the camera is offline, the
    controls are greyed out instead of showing made-up values, and the placeholder of a
    real camera carries no frame-code strip."""
    import socket
    from dataclasses import replace

    from relay.config import RelayConfig
    from relay.testing.relay import camera_at

    with socket.socket() as s:  # a port nobody listens on: connections are refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cam = camera_at(f"http://127.0.0.1:{port}/stream", f"http://127.0.0.1:{port}")
    cam = replace(cam, frame_code=False)  # as a real board is configured
    cfg = RelayConfig(host="127.0.0.1", port=0, cameras=(cam,))
    async with running_relay(cfg) as relay:
        await page.goto(relay.base + "/")
        await _playing(page, width=None)  # the placeholder plays, on whichever rung
        await page.wait_for_function(
            "() => document.getElementById('state').textContent === 'camera offline'",
            timeout=15000,
        )
        assert await page.get_attribute("#state", "data-state") == "camera-offline"
        await page.wait_for_function(
            "() => document.querySelector('[data-stat=connection]').textContent"
            ".includes('camera offline')",
            timeout=5000,
        )
        disabled = await page.eval_on_selector_all(
            "#controls fieldset", "fs => fs.map((f) => f.disabled)"
        )
        assert disabled and all(disabled), disabled
        badge = await page.text_content("[data-control-state]")
        assert badge in ("camera unreachable", "waiting for the camera"), badge
        counter = await page.evaluate(READ_COUNTER)
        assert counter != 0xA55A  # no placeholder code strip for a real camera


async def test_data_saver_switches_chromium_to_the_low_layer_without_a_stall(
    relay: RunningRelay, page: Page
) -> None:
    await page.goto(relay.base + "/")
    await _playing(page)
    await page.wait_for_function(
        "() => document.querySelector('[data-stat=layer]').textContent.startsWith('full 800')",
        timeout=5000,
    )
    await page.check("#data-saver")
    await page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 400", timeout=10000
    )
    counter0 = await page.evaluate(READ_COUNTER)
    await page.wait_for_timeout(2000)
    counter1 = await page.evaluate(READ_COUNTER)
    # Still the camera's frames, every one of them (25 fps), at the low layer's size.
    assert 35 <= (counter1 - counter0) % 65536 <= 65, (counter0, counter1)
    await page.wait_for_function(
        "() => document.querySelector('[data-stat=layer]').textContent.includes('data saver')",
        timeout=5000,
    )
    (session,) = relay.peers.sessions.values()
    assert session.track.quality()["limit"] == "low"
    await page.uncheck("#data-saver")
    await page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 800", timeout=15000
    )
