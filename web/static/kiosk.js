// The kiosk page: one camera full screen on a wall display, for days, unattended.
//
// No controls. A small badge appears only when something is wrong (the relay is
// unreachable, the session is being renegotiated, the camera is offline) and goes
// away by itself. Sessions are renegotiated by WhepSession without reloading the
// page, and each old peer connection, track and channel is released when replaced,
// so the page does not grow. The screen is kept awake where the browser allows.

import { WhepSession } from "/static/whep.js";

// Placeholder frames come at several per second while the camera is away, so three
// seconds without any packet mean the relay itself is gone.
const STALL_MS = 3000;

export function keepScreenAwake() {
  if (!("wakeLock" in navigator)) return;
  let lock = null;
  const acquire = async () => {
    if (lock || document.visibilityState !== "visible") return;
    try {
      lock = await navigator.wakeLock.request("screen");
      document.body.dataset.wakeLock = "held";
      lock.addEventListener("release", () => { lock = null; document.body.dataset.wakeLock = "released"; });
    } catch (_) { /* not allowed here (no user activation, insecure origin) */ }
  };
  // The browser releases the lock whenever the page is hidden; take it again on return.
  document.addEventListener("visibilitychange", acquire);
  acquire();
}

// Only when the link holds the picture below the camera's best: "weak link: low, 12 fps,
// 3 % loss". Not while a new viewer climbs from its start rung (``starting``).
function describeDegraded(q) {
  if (!q.layers || q.layer === q.layers[0] || q.starting) return null;
  const loss = q.loss ? `, ${(q.loss * 100).toFixed(0)} % loss` : "";
  return `weak link: ${q.layer}, ${Math.round(q.fps)} fps${loss}`;
}

// One camera played the kiosk's way: renegotiates by itself, and reports what is wrong
// as onStatus(text, state), text null while it plays (state "warn" or "bad" otherwise).
// Also used by each tile of a grid.
export function playCamera({ camera, iceServers, iceTransportPolicy, token, video, onStatus }) {
  const session = new WhepSession({
    endpoint: `/cameras/${encodeURIComponent(camera)}/whep`,
    iceServers,
    iceTransportPolicy,
    token,
    video,
    stallMs: STALL_MS,
  });
  let sessionState = "connecting";
  let cameraOnline = true;
  let refused = null; // the relay refused this kiosk's credentials
  let degraded = null; // the relay's last quality push, when the link holds this kiosk low
  const show = () => {
    let text = null;
    let state = "warn";
    if (sessionState === "ended") { text = "session ended by the relay"; state = "bad"; }
    else if (sessionState === "error" && refused) { text = `not allowed: ${refused}`; state = "bad"; }
    else if (sessionState === "error") { text = "relay unreachable, reconnecting"; state = "bad"; }
    else if (sessionState !== "connected") text = "connecting";
    else if (!cameraOnline) { text = "camera offline"; state = "bad"; }
    else if (degraded) text = degraded;
    onStatus(text, state);
  };
  session.addEventListener("state", (ev) => {
    sessionState = ev.detail.state;
    if (sessionState === "connected") refused = null;
    show();
  });
  // Keeps retrying (the token may be added back), and says why it cannot play meanwhile.
  session.addEventListener("unauthorized", (ev) => { refused = ev.detail.message; show(); });
  session.addEventListener("channel", (ev) => {
    const channel = ev.detail;
    channel.addEventListener("message", (msg) => {
      let data;
      try { data = JSON.parse(msg.data); } catch (_) { return; }
      if (data.op === "state") cameraOnline = Boolean(data.connected);
      else if (data.op === "event" && data.kind === "camera_offline") cameraOnline = false;
      else if (data.op === "event" && data.kind === "camera_online") cameraOnline = true;
      else if (data.op === "event" && data.kind === "quality") degraded = describeDegraded(data);
      else return;
      show();
    });
  });
  show();
  session.start();
  return session;
}

// A kiosk badge: shown only when something is wrong.
export function showOnBadge(badge) {
  return (text, state) => {
    badge.hidden = text === null;
    badge.textContent = text || "";
    badge.dataset.state = text === null ? "ok" : state;
  };
}

export function startKiosk({ camera, iceServers, iceTransportPolicy, token, video, badge }) {
  const session = playCamera({
    camera, iceServers, iceTransportPolicy, token, video, onStatus: showOnBadge(badge),
  });
  keepScreenAwake();
  addEventListener("pagehide", () => session.stop());
  window.kioskSession = session; // for tests and the console
  return session;
}
