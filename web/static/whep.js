// A WHEP client for the relay: negotiates, plays with the least delay Chromium
// allows, and renegotiates with backoff when the session fails or the relay
// restarts, without reloading the page.

const GATHER_TIMEOUT_MS = 2000;

function waitForGathering(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      pc.removeEventListener("icegatheringstatechange", check);
      clearTimeout(timer);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === "complete") done(); };
    const timer = setTimeout(done, GATHER_TIMEOUT_MS);
    pc.addEventListener("icegatheringstatechange", check);
  });
}

// Ask the browser to play frames the moment they are decodable.
export function lowLatency(receiver) {
  try { receiver.jitterBufferTarget = 0; } catch (_) { /* older browsers */ }
  try { receiver.playoutDelayHint = 0; } catch (_) { /* not Chromium */ }
}

export class WhepSession extends EventTarget {
  // stallMs: a connected session that receives no video for this long is renegotiated
  // (0: never). The relay sends frames even while its camera is away, so silence means
  // the relay went away (restarted, crashed) while ICE still looked fine.
  // token: sent as `Authorization: Bearer` (a kiosk URL's ?token=); iceTransportPolicy
  // "relay" when the relay allows only TURN-relayed paths.
  constructor({ endpoint, iceServers = [], iceTransportPolicy = "all", token = null, video, dataChannel = true, stallMs = 5000 }) {
    super();
    this.iceTransportPolicy = iceTransportPolicy;
    this.token = token;
    this.stallMs = stallMs;
    this.mediaTimer = null;
    this.endpoint = endpoint;
    this.iceServers = iceServers;
    this.video = video;
    this.wantChannel = dataChannel;
    this.pc = null;
    this.channel = null;
    this.location = null;
    this.attempt = 0;
    this.stopped = false;
    this.retryTimer = null;
    this.state = "new";
  }

  setState(state, detail = {}) {
    this.state = state;
    this.dispatchEvent(new CustomEvent("state", { detail: { state, attempt: this.attempt, ...detail } }));
  }

  async start() {
    this.stopped = false;
    await this.connect();
  }

  async connect() {
    this.teardown();
    this.setState(this.attempt ? "reconnecting" : "connecting");
    const pc = new RTCPeerConnection({ iceServers: this.iceServers, iceTransportPolicy: this.iceTransportPolicy });
    this.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    if (this.wantChannel) {
      this.channel = pc.createDataChannel("control", { ordered: true });
      // The relay ending this session on purpose (an admin, a logout, a removed token)
      // says so first: then the page stops instead of reconnecting.
      this.channel.addEventListener("message", (ev) => {
        let msg = null;
        try { msg = JSON.parse(ev.data); } catch (_) { return; }
        if (msg && msg.op === "event" && msg.kind === "session_ended" && pc === this.pc) {
          this.stopped = true;
          this.location = null;
          this.teardown();
          this.setState("ended", { reason: msg.reason || "the relay ended this session" });
        }
      });
      // The relay closing the session (it shut down) closes the channel first.
      this.channel.addEventListener("close", () => {
        if (pc === this.pc && !this.stopped) this.scheduleRetry("the relay closed the session");
      });
      this.dispatchEvent(new CustomEvent("channel", { detail: this.channel }));
    }
    pc.addEventListener("track", (ev) => {
      lowLatency(ev.receiver);
      const stream = ev.streams[0] || new MediaStream([ev.track]);
      this.video.srcObject = stream;
      this.video.play().catch(() => {});
    });
    pc.addEventListener("connectionstatechange", () => {
      if (pc !== this.pc) return;
      const s = pc.connectionState;
      if (s === "connected") {
        this.attempt = 0;
        this.setState("connected");
        this.watchMedia(pc);
      } else if (s === "failed" || s === "closed") {
        this.scheduleRetry(`connection ${s}`);
      } else if (s === "disconnected") {
        this.setState("reconnecting", { reason: "connection interrupted" });
        // Give ICE a moment to recover before starting over.
        clearTimeout(this.retryTimer);
        this.retryTimer = setTimeout(() => {
          if (pc === this.pc && pc.connectionState === "disconnected") this.scheduleRetry("connection lost");
        }, 3000);
      }
    });
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await waitForGathering(pc);
      const res = await fetch(this.endpoint, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", ...this.authHeaders() },
        body: pc.localDescription.sdp,
      });
      if (res.status !== 201) {
        let message = `${res.status} ${res.statusText}`;
        try { message = (await res.json()).message || message; } catch (_) { /* not JSON */ }
        if (res.status === 401 || res.status === 403) {
          // Retrying cannot help until someone logs in or fixes the token: say so.
          this.dispatchEvent(new CustomEvent("unauthorized", { detail: { status: res.status, message } }));
        }
        throw new Error(message);
      }
      const loc = res.headers.get("Location");
      this.location = loc ? new URL(loc, new URL(this.endpoint, location.href)).href : null;
      const answer = await res.text();
      if (pc !== this.pc) return;
      await pc.setRemoteDescription({ type: "answer", sdp: answer });
    } catch (err) {
      if (pc !== this.pc) return;
      this.scheduleRetry(err instanceof TypeError ? "relay unreachable" : err.message);
    }
  }

  scheduleRetry(reason) {
    if (this.stopped) return;
    this.teardown();
    this.attempt += 1;
    // Capped exponential backoff with jitter: 0.5 s, 1 s, 2 s ... 10 s.
    const cap = Math.min(10000, 500 * 2 ** Math.min(this.attempt - 1, 5));
    const delay = cap / 2 + Math.random() * cap / 2;
    this.setState("error", { reason, retryIn: delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.connect(), delay);
  }

  // Renegotiate when packets stop arriving on a connected session.
  watchMedia(pc) {
    clearInterval(this.mediaTimer);
    if (!this.stallMs) return;
    let packets = -1;
    let since = performance.now();
    this.mediaTimer = setInterval(async () => {
      if (pc !== this.pc) return;
      let now = packets;
      try {
        (await pc.getStats()).forEach((s) => {
          if (s.type === "inbound-rtp" && s.kind === "video") now = s.packetsReceived;
        });
      } catch (_) { return; }
      if (pc !== this.pc) return;
      if (now !== packets) {
        packets = now;
        since = performance.now();
      } else if (performance.now() - since > this.stallMs) {
        this.scheduleRetry("no video from the relay");
      }
    }, 1000);
  }

  // Release everything of the current session (a kiosk runs for days).
  teardown() {
    clearTimeout(this.retryTimer);
    clearInterval(this.mediaTimer);
    this.mediaTimer = null;
    if (this.location) {
      fetch(this.location, { method: "DELETE", keepalive: true, headers: this.authHeaders() }).catch(() => {});
      this.location = null;
    }
    if (this.channel) { try { this.channel.close(); } catch (_) {} this.channel = null; }
    if (this.pc) {
      const pc = this.pc;
      this.pc = null;
      pc.getReceivers().forEach((r) => r.track && r.track.stop());
      pc.close();
    }
    if (this.video && this.video.srcObject) {
      this.video.srcObject.getTracks().forEach((t) => t.stop());
      this.video.srcObject = null;
    }
  }

  authHeaders() {
    return this.token ? { Authorization: `Bearer ${this.token}` } : {};
  }

  stop() {
    this.stopped = true;
    this.teardown();
    this.setState("closed");
  }
}
