// Glass-to-glass latency of a video peer, read from the simulated camera's frame code.
//
//   g2g.html?mode=whep&endpoint=URL   WebRTC through WHEP
//   g2g.html?mode=mjpeg&src=URL       the board's own way: the MJPEG URL in an <img>
//
// Every rendered frame carries its send time (wall clock, ms mod 2**32) and a
// frame counter in a row of 48 blocks across the top (relay/video/framecode.py),
// read with the relay's own reader (/static/framecode.js).
// Latency = wall clock when the frame is shown - send time. The simulator and
// Chromium read the same machine clock, so no offset needs estimating.
//
// What the figure includes: everything from the moment the simulator writes the
// frame to its socket (it renders and JPEG-encodes just ahead of that moment; an
// encode that overruns it is included) through the peer under test, the
// network, and the browser's decode and compositing up to the moment the frame
// is expected on screen: rVFC's expectedDisplayTime for video (presented_ms at
// its presentationTime and received_ms at its receiveTime are kept too), the
// animation frame that draws it for <img>.
//
// Results live in window.g2g: state, error, samples [{counter, latency_ms, t}]
// with t in ms since the page started connecting, firstFrameAt (same clock),
// bad (frames whose code reads as garbage, excluded) and badAt (their t),
// repeats (callbacks or polls that found an already counted frame), width, height.

import { CodeReader } from "./static/framecode.js";

const TIME_MODULO = 2 ** 32;
const COUNTER_MODULO = 65536;
const MIN_LATENCY_MS = -5;
// How far "before" its send time a frame may read when drawImage raced ahead (a frame).
const MAX_RACE_MS = 100;
const MAX_LATENCY_MS = 10000;
// A counter may jump this far ahead (frames dropped on the way); further is garbage.
const MAX_COUNTER_STEP = 500;
const GATHER_TIMEOUT_MS = 5000;

const g2g = {
  mode: null,
  state: "idle",
  error: null,
  samples: [],
  bad: 0,
  badAt: [],
  badFrames: [],
  blankAt: [], // frame callbacks whose canvas held nothing yet (see FrameFilter)
  raced: 0, // callbacks whose canvas already held the next frame // what the bad frames read as (the first 50): tells a glitch from garbage
  repeats: 0,
  firstFrameAt: null,
  width: 0,
  height: 0,
  t0: null,
  stop: async () => {},
};
window.g2g = g2g;

const statusEl = document.getElementById("status");

function setState(state, error = null) {
  g2g.state = state;
  if (error) g2g.error = String(error);
  statusEl.textContent = error ? `${state}: ${error}` : state;
}

// Wall clock in ms at high resolution. performance.now() is monotonic and can
// drift from Date.now(); re-anchoring on every call keeps timestamps on the
// wall clock the simulator stamps with.
function wallOffset() {
  return Date.now() - (performance.timeOrigin + performance.now());
}

function toWall(highResTime) {
  return performance.timeOrigin + highResTime + wallOffset();
}

function round2(x) {
  return Math.round(x * 100) / 100;
}

function sinceStart(highResTime) {
  return highResTime - g2g.t0;
}

// Signed difference wall - sendMs across the 2**32 wrap.
function latencyOf(wallMs, sendMs) {
  let d = ((wallMs % TIME_MODULO) - sendMs) % TIME_MODULO;
  if (d < 0) d += TIME_MODULO;
  return d >= TIME_MODULO / 2 ? d - TIME_MODULO : d;
}

// Accepts frames whose code is plausible; counts the rest as bad.
class FrameFilter {
  constructor() {
    this.lastRaw = null;
    this.lastCounter = null;
    this.pending = null; // a jumped-to counter, accepted if the next frame follows it
  }

  // "new" | "repeat" | "bad"
  // "new" | "repeat" | "blank" | "raced" | "bad"
  classify(sendMs, counter, latency) {
    const raw = `${sendMs}:${counter}`;
    if (raw === this.lastRaw) return "repeat";
    this.lastRaw = raw;
    // Every block black: the canvas got nothing from the video. It happens at the first
    // frame callback of a session, when Chromium has the frame (with its RTP timestamp and
    // receive time) but drawImage of the element does not paint it yet. An aiortc viewer
    // decoding the same stream sees a camera frame there; the relay sends no blank frame.
    if (sendMs === 0 && counter === 0) return "blank";
    if (latency >= -MAX_RACE_MS && latency < MIN_LATENCY_MS && this.follows(counter)) {
      // A valid code read "before" it was sent: drawImage painted the element's newest
      // frame, which replaced the one this callback is about. Not a measurement of it.
      return "raced";
    }
    if (!(latency >= MIN_LATENCY_MS && latency <= MAX_LATENCY_MS)) return "bad";
    if (this.lastCounter !== null) {
      const step = (counter - this.lastCounter + COUNTER_MODULO) % COUNTER_MODULO;
      if (step === 0 || step > MAX_COUNTER_STEP) {
        // Garbage, or a real jump (a long stall): two consecutive frames agreeing settle it.
        const follows = this.pending !== null
          && (counter - this.pending + COUNTER_MODULO) % COUNTER_MODULO >= 1
          && (counter - this.pending + COUNTER_MODULO) % COUNTER_MODULO <= MAX_COUNTER_STEP;
        this.pending = counter;
        if (!follows) return "bad";
      }
    }
    this.lastCounter = counter;
    this.pending = null;
    return "new";
  }

  follows(counter) {
    if (this.lastCounter === null) return false;
    const step = (counter - this.lastCounter + COUNTER_MODULO) % COUNTER_MODULO;
    return step >= 1 && step <= MAX_COUNTER_STEP;
  }
}

function record(filter, sendMs, counter, wallMs, tMs, extra) {
  const latency = latencyOf(wallMs, sendMs);
  const verdict = filter.classify(sendMs, counter, latency);
  if (verdict === "repeat") { g2g.repeats += 1; return; }
  if (verdict === "blank") { g2g.blankAt.push(Math.round(tMs)); return; }
  if (verdict === "raced") { g2g.raced += 1; return; }
  if (verdict === "bad") {
    g2g.bad += 1;
    g2g.badAt.push(Math.round(tMs));
    if (g2g.badFrames.length < 50) {
      g2g.badFrames.push({ t: Math.round(tMs), sendMs, counter, latency: round2(latency), ...extra });
    }
    return;
  }
  if (g2g.firstFrameAt === null) {
    g2g.firstFrameAt = tMs;
    setState("playing");
  }
  g2g.samples.push({ counter, latency_ms: round2(latency), t: Math.round(tMs), ...extra });
}

function waitForGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") { clearTimeout(timer); resolve(); }
    });
  });
}

async function runWhep(endpoint) {
  const video = document.createElement("video");
  video.autoplay = true;
  video.muted = true;
  video.playsInline = true;
  document.getElementById("stage").append(video);
  if (!("requestVideoFrameCallback" in HTMLVideoElement.prototype)) {
    throw new Error("requestVideoFrameCallback unsupported");
  }

  const reader = new CodeReader();
  const filter = new FrameFilter();
  const onFrame = (_now, md) => {
    const W = md.width || video.videoWidth, H = md.height || video.videoHeight;
    if (W >= 48 && H > 0) {
      g2g.width = W;
      g2g.height = H;
      const [sendMs, counter] = reader.read(video, W, H);
      const shown = md.expectedDisplayTime;
      const extra = { presented_ms: round2(latencyOf(toWall(md.presentationTime), sendMs)) };
      // When the last packet of the frame arrived: splits network + peer from the
      // browser's own decode and render delay.
      if (md.rtpTimestamp !== undefined) extra.rtp = md.rtpTimestamp;
      if (md.receiveTime !== undefined) {
        extra.received_ms = round2(latencyOf(toWall(md.receiveTime), sendMs));
      }
      record(filter, sendMs, counter, toWall(shown), sinceStart(shown), extra);
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback(onFrame);

  // ?ice={"iceServers": [...], "iceTransportPolicy": "relay"}: through a TURN server.
  const ice = JSON.parse(new URLSearchParams(location.search).get("ice") || "{}");
  const pc = new RTCPeerConnection({ iceServers: ice.iceServers || [], iceTransportPolicy: ice.iceTransportPolicy || "all" });
  const transceiver = pc.addTransceiver("video", { direction: "recvonly" });
  // Play frames as soon as they are decodable, as the product's viewer page does.
  try { transceiver.receiver.jitterBufferTarget = 0; } catch (_) { /* unsupported */ }
  try { transceiver.receiver.playoutDelayHint = 0; } catch (_) { /* not Chromium */ }
  pc.addEventListener("track", (ev) => {
    video.srcObject = ev.streams[0] || new MediaStream([ev.track]);
    video.play().catch(() => {});
  });
  pc.addEventListener("connectionstatechange", () => {
    const s = pc.connectionState;
    if (s === "connected" && g2g.state === "connecting") setState("connected");
    else if (s === "failed") setState("error", "connection failed");
  });

  let sessionUrl = null;
  g2g.stop = async () => {
    if (sessionUrl) {
      const url = sessionUrl;
      sessionUrl = null;
      await fetch(url, { method: "DELETE" }).catch(() => {});
    }
    pc.close();
    video.srcObject = null;
    setState("closed");
  };

  await pc.setLocalDescription(await pc.createOffer());
  await waitForGathering(pc);
  const res = await fetch(endpoint, {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  const body = await res.text();
  if (res.status !== 201 && res.status !== 200) throw new Error(`WHEP ${res.status}: ${body}`);
  const loc = res.headers.get("Location");
  if (loc) sessionUrl = new URL(loc, new URL(endpoint, location.href)).href;
  await pc.setRemoteDescription({ type: "answer", sdp: body });
}

async function runMjpeg(src) {
  const img = document.createElement("img");
  // CORS-clean, so the canvas it is drawn on stays readable (the board sends
  // Access-Control-Allow-Origin: *).
  img.crossOrigin = "anonymous";
  img.alt = "";
  document.getElementById("stage").append(img);

  const reader = new CodeReader();
  const filter = new FrameFilter();
  let running = true;
  // Each animation frame shows whatever part the <img> decoded last; a new
  // counter means a new frame reached the screen in this animation frame.
  const poll = () => {
    if (!running) return;
    const W = img.naturalWidth, H = img.naturalHeight;
    if (W >= 48 && H > 0) {
      g2g.width = W;
      g2g.height = H;
      try {
        const [sendMs, counter] = reader.read(img, W, H);
        const now = performance.now();
        record(filter, sendMs, counter, toWall(now), sinceStart(now), {});
      } catch (err) {
        // A tainted canvas (no CORS) cannot be read: nothing else would work either.
        running = false;
        setState("error", err);
        return;
      }
    }
    requestAnimationFrame(poll);
  };
  img.addEventListener("error", () => { if (running) setState("error", "image failed to load"); });
  g2g.stop = async () => {
    running = false;
    img.removeAttribute("src"); // closes the stream: the board serves one client
    img.src = "";
    setState("closed");
  };
  img.src = src;
  setState("connected");
  requestAnimationFrame(poll);
}

async function main() {
  const q = new URLSearchParams(location.search);
  g2g.mode = q.get("mode");
  g2g.t0 = performance.now();
  setState("connecting");
  if (g2g.mode === "whep") {
    const endpoint = q.get("endpoint");
    if (!endpoint) throw new Error("mode=whep needs endpoint=URL");
    await runWhep(endpoint);
  } else if (g2g.mode === "mjpeg") {
    const src = q.get("src");
    if (!src) throw new Error("mode=mjpeg needs src=URL");
    await runMjpeg(src);
  } else {
    throw new Error("mode must be whep or mjpeg");
  }
}

window.addEventListener("error", (ev) => setState("error", ev.message));
main().catch((err) => setState("error", err && err.message ? err.message : err));
