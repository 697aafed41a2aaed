import { WhepSession } from "/static/whep.js";
import { startControls } from "/static/controls.js";

const fmt = {
  bitrate: (bps) => bps >= 1e6 ? `${(bps / 1e6).toFixed(2)} Mbit/s` : `${Math.round(bps / 1e3)} kbit/s`,
  ms: (s) => `${(s * 1000).toFixed(1)} ms`,
};

// The camera's own state, from the relay's pushes: the relay may be connected while the
// board is gone, and that is what the viewer must see first.
class CameraState {
  constructor() {
    this.connected = null; // null: not known yet
    this.since = null;
  }

  update(connected) {
    if (connected !== this.connected) this.since = new Date();
    this.connected = connected;
  }

  describe() {
    if (this.connected !== false) return null;
    const at = this.since ? this.since.toLocaleTimeString() : "";
    return `camera offline${at ? ` since ${at}` : ""}`;
  }
}

// Reads the connection's statistics once a second and shows what a viewer cares about.
function watchStats(session, el, camera) {
  let last = null;
  const set = (key, value) => {
    const dd = el.querySelector(`[data-stat="${key}"]`);
    if (dd) dd.textContent = value;
  };
  return setInterval(async () => {
    const pc = session.pc;
    const link = pc ? pc.connectionState : "closed";
    const away = camera.describe();
    set("connection", away && link === "connected" ? `relay connected; ${away}` : link);
    if (!pc) return;
    const report = await pc.getStats();
    let inbound = null, pair = null;
    report.forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") inbound = s;
      if (s.type === "candidate-pair" && s.nominated && s.state === "succeeded") pair = s;
    });
    if (inbound) {
      if (inbound.frameWidth) set("resolution", `${inbound.frameWidth}×${inbound.frameHeight}`);
      if (inbound.framesPerSecond !== undefined) set("fps", `${inbound.framesPerSecond.toFixed(0)} fps`);
      if (last && inbound.timestamp > last.timestamp) {
        const bps = (8 * (inbound.bytesReceived - last.bytesReceived) * 1000) / (inbound.timestamp - last.timestamp);
        set("bitrate", fmt.bitrate(bps));
      }
      if (inbound.jitterBufferEmittedCount) {
        set("jitter", fmt.ms(inbound.jitterBufferDelay / inbound.jitterBufferEmittedCount));
      }
      set("dropped", `${inbound.framesDropped ?? 0} dropped, ${inbound.packetsLost ?? 0} packets lost`);
      last = inbound;
    }
    if (pair && pair.currentRoundTripTime !== undefined) set("rtt", fmt.ms(pair.currentRoundTripTime));
  }, 1000);
}

// What the relay sends this viewer, and what it knows of the link (pushed every second).
function showQuality(el, q) {
  const set = (key, value) => {
    const dd = el.querySelector(`[data-stat="${key}"]`);
    if (dd) dd.textContent = value;
  };
  const moving = q.target !== q.layer ? ` → ${q.target}` : "";
  set("layer", `${q.layer} ${q.width}×${q.height}, ${Math.round(q.fps)} fps${moving}${q.limit !== "auto" ? " (data saver)" : ""}`);
  set("estimate", q.estimate ? fmt.bitrate(q.estimate) + (q.probing ? `, probing ${fmt.bitrate(q.probing)}` : "") : "not measured yet");
  const rtt = q.rtt_ms !== null && q.rtt_ms !== undefined ? `, round trip ${q.rtt_ms} ms` : "";
  set("link", `${(q.loss * 100).toFixed(1)} % loss${rtt}, sending ${fmt.bitrate(q.sent_bps)}`);
}

export function startViewer({ camera, iceServers, iceTransportPolicy, token, video, badge, message, stats, controls, controlSchema }) {
  const session = new WhepSession({
    endpoint: `/cameras/${encodeURIComponent(camera)}/whep`,
    iceServers,
    iceTransportPolicy,
    token,
    video,
  });
  const cameraState = new CameraState();
  let link = "new";
  const showBadge = () => {
    const away = cameraState.describe();
    if (link === "connected" && away) {
      badge.dataset.state = "camera-offline";
      badge.textContent = "camera offline";
      badge.title = away;
    } else {
      badge.dataset.state = link;
      badge.textContent = link === "error" ? "reconnecting" : link;
      badge.title = "";
    }
  };
  session.addEventListener("state", (ev) => {
    const { state, reason, retryIn, attempt } = ev.detail;
    link = state;
    showBadge();
    if (state === "ended") {
      message.hidden = false;
      message.textContent = `${reason}. Reload the page to watch again.`;
    } else if (state === "error") {
      message.hidden = false;
      message.textContent = `Cannot connect to the relay: ${reason}. Retrying in ${(retryIn / 1000).toFixed(1)} s (attempt ${attempt}).`;
    } else if (state === "connected") {
      message.hidden = true;
    }
  });
  watchStats(session, stats, cameraState);
  if (controls && controlSchema) {
    const panel = startControls({ session, root: controls, schema: controlSchema });
    panel.addEventListener("state", (ev) => {
      if (typeof ev.detail.connected === "boolean") cameraState.update(ev.detail.connected);
      showBadge();
    });
    panel.addEventListener("event", (ev) => {
      if (ev.detail.kind === "quality") showQuality(stats, ev.detail);
      if (ev.detail.kind === "camera_offline") cameraState.update(false);
      if (ev.detail.kind === "camera_online") cameraState.update(true);
      showBadge();
    });
    window.relayControls = panel;
    const saver = document.getElementById("data-saver");
    if (saver) {
      saver.addEventListener("change", () => {
        const ch = panel.channel;
        if (!ch || ch.readyState !== "open") return;
        ch.send(JSON.stringify({ id: `quality-${Date.now()}`, op: "quality", limit: saver.checked ? "low" : "auto" }));
      });
    }
  }
  addEventListener("pagehide", () => session.stop());
  session.start();
  window.relaySession = session; // for debugging from the console
  return session;
}
