// The camera controls panel: every setting of the board, steered over the
// `control` data channel (JSON: {id, op: "set", var, val} -> one reply per id;
// {op: "state"} pushed by the relay after every change).
//
// The panel mirrors the live state, marks a control pending until the reply
// to its newest request arrives and failed (with the reason) when that reply
// is an error. Sliders send on every "input" event while dragging: the relay
// coalesces them, so the board sees a few requests, not hundreds.

const BOOL = (v) => (v ? 1 : 0);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

export class ControlPanel extends EventTarget {
  constructor({ root, schema }) {
    super();
    this.root = root;
    this.schema = schema;
    this.form = root.querySelector("form");
    this.badge = root.querySelector("[data-control-state]");
    this.errorLine = root.querySelector("[data-control-error]");
    this.rows = new Map(); // var -> { spec, row, input, output }
    this.latest = new Map(); // var -> id of its newest request
    this.outstanding = new Map(); // id -> var
    this.nextId = 1;
    this.channel = null;
    this.state = null;
    this.sizesKey = "";
    this.render();
    this.setReady(false);
  }

  render() {
    const groups = new Map();
    for (const spec of this.schema) {
      let fs = groups.get(spec.group);
      if (!fs) {
        fs = el("fieldset", { class: "control-group" }, el("legend", { text: spec.group }));
        groups.set(spec.group, fs);
        this.form.append(fs);
      }
      const row = this.renderControl(spec);
      fs.append(row.row);
      this.rows.set(spec.var, row);
    }
  }

  renderControl(spec) {
    const id = `ctl-${spec.var}`;
    const label = el("label", { for: id, text: spec.label });
    let input;
    let output = null;
    if (spec.kind === "range") {
      input = el("input", { type: "range", id, min: spec.min, max: spec.max, step: 1, "data-var": spec.var });
      output = el("output", { for: id });
      input.addEventListener("input", () => {
        output.textContent = input.value;
        this.send(spec.var, Number(input.value));
      });
    } else if (spec.kind === "toggle") {
      input = el("input", { type: "checkbox", id, "data-var": spec.var, role: "switch" });
      input.addEventListener("change", () => this.send(spec.var, BOOL(input.checked)));
    } else {
      input = el("select", { id, "data-var": spec.var });
      (spec.options || []).forEach((name, i) => input.append(el("option", { value: spec.min + i, text: name })));
      input.addEventListener("change", () => this.send(spec.var, Number(input.value)));
    }
    const row = el("div", { class: `control control-${spec.kind}`, "data-row": spec.var }, label, input, output);
    return { spec, row, input, output };
  }

  // A new data channel (first connection or after a reconnect).
  attach(channel) {
    this.channel = channel;
    this.clearPending();
    this.setReady(channel.readyState === "open");
    channel.addEventListener("open", () => { if (channel === this.channel) this.setReady(true); });
    channel.addEventListener("close", () => {
      if (channel !== this.channel) return;
      this.clearPending();
      this.setReady(false);
    });
    channel.addEventListener("message", (ev) => {
      if (channel !== this.channel) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      this.onMessage(msg);
    });
  }

  setReady(ready) {
    this.ready = ready;
    this.updateEnabled();
    this.updateBadge();
  }

  // The board's real settings are known: it answered /status and its control server is
  // reachable. Until then the controls are greyed out rather than showing made-up values.
  get known() {
    const s = this.state;
    return Boolean(s && Object.keys(s.camera || {}).length > 0 && !(s.control && s.control.reachable === false));
  }

  updateEnabled() {
    const enabled = Boolean(this.ready) && this.known;
    this.form.querySelectorAll("fieldset").forEach((fs) => { fs.disabled = !enabled; });
    this.root.classList.toggle("unknown-settings", !enabled);
  }

  clearPending() {
    this.latest.clear();
    this.outstanding.clear();
    this.rows.forEach((r) => r.row.classList.remove("pending"));
    this.updateBadge();
  }

  send(variable, val) {
    const ch = this.channel;
    const r = this.rows.get(variable);
    if (!ch || ch.readyState !== "open") {
      this.fail(variable, "not connected to the relay");
      return;
    }
    const id = this.nextId++;
    this.latest.set(variable, id);
    this.outstanding.set(id, variable);
    r.row.classList.add("pending");
    r.row.classList.remove("failed");
    r.row.removeAttribute("title");
    ch.send(JSON.stringify({ id, op: "set", var: variable, val }));
    this.updateBadge();
  }

  onMessage(msg) {
    if (msg.op === "state") {
      this.applyState(msg);
      return;
    }
    if (msg.op === "event") {
      this.dispatchEvent(new CustomEvent("event", { detail: msg }));
      return;
    }
    const variable = this.outstanding.get(msg.id);
    if (variable === undefined) return;
    this.outstanding.delete(msg.id);
    if (this.latest.get(variable) !== msg.id) return; // an older request: its successor decides
    this.latest.delete(variable);
    const r = this.rows.get(variable);
    r.row.classList.remove("pending");
    if (msg.ok) {
      r.row.classList.remove("failed");
      this.hideError();
    } else {
      this.fail(variable, `${msg.error}: ${msg.message}`);
    }
    if (this.state) this.showValue(variable); // back to what the camera really has
    this.updateBadge();
    this.dispatchEvent(new CustomEvent("reply", { detail: msg }));
  }

  fail(variable, text) {
    const r = this.rows.get(variable);
    if (r) {
      r.row.classList.add("failed");
      r.row.title = text;
    }
    this.errorLine.hidden = false;
    this.errorLine.textContent = `${r ? r.spec.label : variable}: ${text}`;
  }

  hideError() {
    if (!this.root.querySelector(".control.failed")) this.errorLine.hidden = true;
  }

  applyState(state) {
    this.state = state;
    this.updateFramesizes(state.framesizes);
    for (const variable of this.rows.keys()) this.showValue(variable);
    // A group whose every control this board lacks (face detection) is hidden as a whole.
    this.form.querySelectorAll("fieldset").forEach((fs) => {
      fs.hidden = [...fs.querySelectorAll(".control")].every((row) => row.hidden);
    });
    this.updateEnabled();
    this.updateBadge();
    this.dispatchEvent(new CustomEvent("state", { detail: state }));
  }

  value(variable) {
    const s = this.state;
    if (!s) return undefined;
    if (s.camera && s.camera[variable] !== undefined) return s.camera[variable];
    if (s.applied && s.applied[variable] !== undefined) return s.applied[variable];
    return undefined;
  }

  showValue(variable) {
    const r = this.rows.get(variable);
    const v = this.value(variable);
    const known = Object.keys(this.state.camera || {}).length > 0;
    // LED and face controls exist only on boards whose /status reports them.
    let hidden = false;
    if (variable === "led_intensity") hidden = known && !(typeof v === "number" && v >= 0);
    else if (variable.startsWith("face_")) hidden = known && v === undefined;
    r.row.hidden = hidden;
    if (this.latest.has(variable)) return; // the user is changing it: do not pull it back
    if (v === undefined) {
      // /status never reports some settings (vflip) until the relay has set them.
      r.row.classList.add("unknown");
      r.row.title = "the camera does not report this setting";
      return;
    }
    if (r.row.classList.contains("unknown")) r.row.removeAttribute("title");
    r.row.classList.remove("unknown");
    if (r.spec.kind === "toggle") r.input.checked = Boolean(v);
    else r.input.value = String(v);
    if (r.output) r.output.textContent = String(v);
  }

  updateFramesizes(info) {
    if (!info) return;
    const key = JSON.stringify(info.sizes);
    const r = this.rows.get("framesize");
    if (!r || key === this.sizesKey) return;
    this.sizesKey = key;
    r.input.replaceChildren(
      ...info.sizes.map((s) => el("option", { value: s.value, text: `${s.name} (${s.width}×${s.height})` })),
    );
    r.row.title = info.learned ? "" : "frame size numbering not confirmed yet: assuming current esp32-camera";
  }

  updateBadge() {
    if (!this.badge) return;
    const s = this.state;
    let text = "ready";
    if (!this.channel || this.channel.readyState !== "open") text = "offline";
    else if (s && s.control && s.control.reachable === false) text = "camera unreachable";
    else if (!this.known) text = "waiting for the camera";
    else if (this.latest.size) text = `${this.latest.size} pending`;
    this.badge.textContent = text;
    this.badge.dataset.state = text === "ready" ? "ready" : text.endsWith("pending") ? "pending" : "error";
  }
}

export function startControls({ session, root, schema }) {
  const panel = new ControlPanel({ root, schema });
  session.addEventListener("channel", (ev) => panel.attach(ev.detail));
  if (session.channel) panel.attach(session.channel);
  return panel;
}
