"""The viewer page's processing panel in headless Chromium: toggle, settings, order, timing."""

from __future__ import annotations

import pytest
from playwright.async_api import Page

from relay.testing.relay import RunningRelay

pytestmark = [pytest.mark.network, pytest.mark.browser]

# Mean |R-G| + |G-B| of the video's pixels, drawn into a canvas: 0 for a grey picture.
COLOURFULNESS = """() => {
  const v = document.getElementById('video');
  if (!v.videoWidth) return -1;
  const c = document.createElement('canvas');
  c.width = 160; c.height = 120;
  const ctx = c.getContext('2d');
  ctx.drawImage(v, 0, 0, 160, 120);
  const d = ctx.getImageData(0, 40, 160, 80).data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 4) {
    sum += Math.abs(d[i] - d[i + 1]) + Math.abs(d[i + 1] - d[i + 2]);
  }
  return sum / (d.length / 4);
}"""


async def _ready(page: Page) -> None:
    await page.wait_for_selector("[data-processor=grayscale]", timeout=15000)
    await page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 800", timeout=15000
    )


async def test_toggling_grayscale_on_the_page_turns_the_video_grey(
    relay: RunningRelay, page: Page
) -> None:
    await page.goto(relay.base + "/")
    await _ready(page)
    ids = await page.eval_on_selector_all(
        "#processors [data-processor]", "ls => ls.map(l => l.dataset.processor)"
    )
    assert ids[:4] == ["rotate", "flip", "crop", "resize"] and "faces" in ids
    await page.wait_for_function(f"() => ({COLOURFULNESS})() > 15", timeout=10000)
    await page.check("[data-processor=grayscale] input[role=switch]")
    await page.wait_for_function(f"() => ({COLOURFULNESS})() < 4", timeout=10000)
    stage = relay.camera().processing.chain.get("grayscale")
    assert stage is not None and stage.enabled
    # Its time per frame shows up.
    await page.wait_for_function(
        "() => /ms$/.test(document.querySelector('[data-processor=grayscale] .processor-ms')"
        ".textContent)",
        timeout=10000,
    )


async def test_settings_and_order_from_the_page(relay: RunningRelay, page: Page) -> None:
    await page.goto(relay.base + "/")
    await _ready(page)
    row = "[data-processor=resize]"
    await page.click(f"{row} summary")
    await page.fill(f"{row} input[data-param=width]", "320")
    await page.press(f"{row} input[data-param=width]", "Enter")
    await page.check(f"{row} input[role=switch]")
    await page.wait_for_function(
        "() => document.getElementById('video').videoWidth === 320", timeout=15000
    )
    # A value out of range is refused and shown; the field returns to the relay's value.
    await page.fill(f"{row} input[data-param=width]", "99999")
    await page.press(f"{row} input[data-param=width]", "Tab")
    await page.wait_for_selector("[data-processor-error]:not([hidden])", timeout=5000)
    assert "out of range" in (await page.text_content("[data-processor-error]") or "")
    assert relay.camera().processing.chain.get("resize").params["width"] == 320  # type: ignore[union-attr]
    # Moving a stage up swaps it with the one before.
    await page.click("[data-processor=flip] .processor-move[title='run earlier']")
    await page.wait_for_function(
        "() => document.querySelector('#processors [data-processor]').dataset.processor === 'flip'",
        timeout=5000,
    )
    assert [s.id for s in relay.camera().processing.chain.stages][:2] == ["flip", "rotate"]
