// The grid: one tile per camera, each its own WHEP session played the kiosk's way (it
// renegotiates by itself), with the camera's name, state and frame rate. One peer
// connection per tile: see the README's "Several cameras" for the measurement.
import { keepScreenAwake, playCamera, showOnBadge } from "/static/kiosk.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const kiosk = document.body.classList.contains("kiosk");
// The kiosk grid's shape: set here, as the Content Security Policy refuses inline styles.
const tiles = document.querySelector("main.tiles");
tiles.style.setProperty("--cols", tiles.dataset.cols);
tiles.style.setProperty("--rows", tiles.dataset.rows);
const sessions = {};

function tileStatus(tile, badge) {
  const onBadge = kiosk ? showOnBadge(badge) : null;
  return (text, state) => {
    tile.dataset.state = text === null ? "live" : state;
    tile.title = text || "";
    if (onBadge) { onBadge(text, state); return; }
    badge.textContent = text || "live";
    badge.dataset.state = text === null ? "connected" : state === "bad" ? "error" : "connecting";
  };
}

// The frame rate and size the tile receives, from its own statistics.
function watchRate(tile, session, out) {
  setInterval(async () => {
    const pc = session.pc;
    if (!pc) { if (out) out.textContent = "–"; tile.dataset.fps = "0"; return; }
    let stats;
    try { stats = await pc.getStats(); } catch (_) { return; }
    stats.forEach((s) => {
      if (s.type !== "inbound-rtp" || s.kind !== "video") return;
      const fps = s.framesPerSecond || 0;
      tile.dataset.fps = String(fps);
      if (s.frameWidth) tile.dataset.size = `${s.frameWidth}x${s.frameHeight}`;
      if (out) out.textContent = fps ? `${Math.round(fps)} fps` : "–";
    });
  }, 1000);
}

for (const tile of document.querySelectorAll(".tile")) {
  const camera = tile.dataset.camera;
  const badge = tile.querySelector(kiosk ? ".kiosk-badge" : ".tile-state");
  const session = playCamera({
    camera,
    iceServers: config.iceServers,
    iceTransportPolicy: config.iceTransportPolicy,
    token: config.token,
    video: tile.querySelector("video"),
    onStatus: tileStatus(tile, badge),
  });
  sessions[camera] = session;
  watchRate(tile, session, tile.querySelector("[data-fps]"));
}
if (kiosk) keepScreenAwake();
addEventListener("pagehide", () => Object.values(sessions).forEach((s) => s.stop()));
window.gridSessions = sessions; // for tests and the console
