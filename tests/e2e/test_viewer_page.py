"""The viewer page in headless Chromium plays the camera through the relay."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from relay.testing.relay import RunningRelay, running_relay

pytestmark = [pytest.mark.network, pytest.mark.browser]

# Reads the simulator's frame code (48 blocks across the top) from the playing video.
READ_COUNTER = """
() => {
  const v = document.getElementById("video");
  const c = document.createElement("canvas");
  c.width = v.videoWidth; c.height = v.videoHeight;
  const ctx = c.getContext("2d");
  ctx.drawImage(v, 0, 0);
  const W = c.width, bh = Math.max(8, Math.floor(W / 48));
  let bits = [];
  for (let i = 0; i < 48; i++) {
    const x0 = Math.floor(i * W / 48), x1 = Math.floor((i + 1) * W / 48);
    const w = Math.max(1, Math.floor((x1 - x0) / 2)), h = Math.max(1, Math.floor(bh / 2));
    const d = ctx.getImageData(x0 + Math.floor((x1 - x0) / 4), Math.floor(bh / 4), w, h).data;
    let sum = 0;
    for (let j = 0; j < d.length; j += 4) sum += 0.299 * d[j] + 0.587 * d[j + 1] + 0.114 * d[j + 2];
    bits.push(sum / (d.length / 4) >= 128 ? 1 : 0);
  }
  let counter = 0;
  for (let i = 32; i < 48; i++) counter = counter * 2 + bits[i];
  return counter;
}
"""


async def _playing(page: Page) -> None:
    await page.wait_for_function(
        "() => { const v = document.getElementById('video');"
        " return v && v.videoWidth > 0 && v.currentTime > 0; }",
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
