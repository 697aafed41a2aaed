// The processing panel: the camera's processor chain, steered over the `control` data
// channel with {id, op: "processors", action, ...} requests (list, enable, disable,
// reorder, set, add, remove). The relay pushes {op: "processors", processors: [...]}
// after every change (from any viewer) and {op: "event", kind: ...} for motion, faces
// and processor errors. Time per frame comes from a `list` every two seconds.

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

const fmtMs = (ms) => (ms && ms.p50 !== null && ms.p50 !== undefined ? `${ms.p50.toFixed(1)} ms` : "–");

export class ProcessorPanel extends EventTarget {
  constructor({ root }) {
    super();
    this.root = root;
    this.list = root.querySelector("[data-processor-list]");
    this.errorLine = root.querySelector("[data-processor-error]");
    this.eventLine = root.querySelector("[data-processor-event]");
    this.addSelect = root.querySelector("[data-processor-add]");
    this.addButton = root.querySelector("[data-processor-add-button]");
    this.channel = null;
    this.nextId = 1;
    this.pending = new Set();
    this.rows = new Map(); // id -> { li, toggle, ms, error, inputs: Map(param -> input) }
    this.order = "";
    this.stages = [];
    this.addButton.addEventListener("click", () => {
      if (this.addSelect.value) this.send({ action: "add", name: this.addSelect.value });
    });
    this.timer = setInterval(() => this.poll(), 2000);
    this.setReady(false);
  }

  attach(channel) {
    this.channel = channel;
    this.pending.clear();
    this.setReady(channel.readyState === "open");
    channel.addEventListener("open", () => {
      if (channel !== this.channel) return;
      this.setReady(true);
      this.poll();
    });
    channel.addEventListener("close", () => { if (channel === this.channel) this.setReady(false); });
    channel.addEventListener("message", (ev) => {
      if (channel !== this.channel) return;
      let msg;
      try { msg = JSON.parse(ev.data); } catch (_) { return; }
      this.onMessage(msg);
    });
    if (channel.readyState === "open") this.poll();
  }

  setReady(ready) {
    this.root.classList.toggle("offline", !ready);
    this.root.querySelectorAll("input, select, button").forEach((n) => { n.disabled = !ready || n.dataset.edge === "1"; });
  }

  send(body) {
    const ch = this.channel;
    if (!ch || ch.readyState !== "open") {
      this.showError("not connected to the relay");
      return null;
    }
    const id = `p${this.nextId++}`; // string ids: never collide with the camera controls' numbers
    this.pending.add(id);
    ch.send(JSON.stringify({ id, op: "processors", ...body }));
    return id;
  }

  poll() {
    if (document.hidden || !this.channel || this.channel.readyState !== "open") return;
    if ([...this.pending].some((id) => id.startsWith("p"))) return; // one at a time is plenty
    this.send({ action: "list" });
  }

  onMessage(msg) {
    if (msg.op === "processors") {
      this.render(msg.processors);
      return;
    }
    if (msg.op === "event") {
      this.onEvent(msg);
      return;
    }
    if (typeof msg.id !== "string" || !this.pending.has(msg.id)) return;
    this.pending.delete(msg.id);
    if (!msg.ok) {
      this.showError(`${msg.error}: ${msg.message}`);
      this.render(this.stages); // back to the relay's values
      return;
    }
    this.errorLine.hidden = true;
    if (msg.available) this.renderAvailable(msg.available);
    if (msg.processors) this.render(msg.processors);
    this.dispatchEvent(new CustomEvent("reply", { detail: msg }));
  }

  onEvent(msg) {
    const t = msg.time ? new Date(msg.time * 1000).toLocaleTimeString() : new Date().toLocaleTimeString();
    if (msg.kind === "motion" || msg.kind === "faces") {
      const n = msg.boxes ? msg.boxes.length : 0;
      this.eventLine.textContent = `${t} ${msg.kind}: ${n} ${n === 1 ? "box" : "boxes"}`;
      this.eventLine.dataset.kind = msg.kind;
      this.eventLine.hidden = false;
    } else if (msg.kind === "processor_error") {
      this.showError(`${msg.processor} stopped: ${msg.message}`);
    }
    this.dispatchEvent(new CustomEvent("event", { detail: msg }));
  }

  showError(text) {
    this.errorLine.hidden = false;
    this.errorLine.textContent = text;
  }

  renderAvailable(available) {
    const key = available.map((a) => a.name).join(",");
    if (this.addSelect.dataset.key === key) return;
    this.addSelect.dataset.key = key;
    this.addSelect.replaceChildren(...available.map((a) => el("option", { value: a.name, text: a.label || a.name })));
  }

  render(stages) {
    this.stages = stages;
    const order = stages.map((s) => s.id).join("\n");
    if (order !== this.order) {
      this.order = order;
      this.rows.clear();
      this.list.replaceChildren(...stages.map((s, i) => this.renderStage(s, i, stages.length)));
    }
    for (const s of stages) this.update(s);
    this.setReady(Boolean(this.channel && this.channel.readyState === "open"));
  }

  renderStage(stage, index, count) {
    const toggle = el("input", { type: "checkbox", role: "switch", "aria-label": `${stage.label} on` });
    toggle.addEventListener("change", () => {
      this.send({ action: toggle.checked ? "enable" : "disable", processor: stage.id });
    });
    const ms = el("output", { class: "processor-ms", title: "median time per frame" });
    const up = el("button", { type: "button", class: "processor-move", text: "↑", title: "run earlier" });
    const down = el("button", { type: "button", class: "processor-move", text: "↓", title: "run later" });
    if (index === 0) up.dataset.edge = "1"; // nothing to swap with
    if (index === count - 1) down.dataset.edge = "1";
    up.addEventListener("click", () => this.move(stage.id, -1));
    down.addEventListener("click", () => this.move(stage.id, +1));
    const remove = el("button", { type: "button", class: "processor-move", text: "×", title: "remove" });
    remove.addEventListener("click", () => this.send({ action: "remove", processor: stage.id }));
    const name = el("span", { class: "processor-name", text: stage.id === stage.name ? stage.label : `${stage.label} (${stage.id})` });
    const head = el("div", { class: "processor-head" }, toggle, name, ms, up, down, remove);
    const inputs = new Map();
    const params = el("div", { class: "processor-params" });
    for (const p of stage.schema) {
      const input = this.paramInput(stage, p);
      inputs.set(p.name, input);
      params.append(el("label", { class: "processor-param" }, el("span", { text: p.label }), input));
    }
    const details = stage.schema.length ? el("details", {}, el("summary", { text: "settings" }), params) : null;
    const error = el("p", { class: "processor-error", role: "alert" });
    error.hidden = true;
    const li = el("li", { class: "processor", "data-processor": stage.id }, head, details, error);
    this.rows.set(stage.id, { li, toggle, ms, error, inputs });
    return li;
  }

  paramInput(stage, p) {
    let input;
    const set = (value) => this.send({ action: "set", processor: stage.id, params: { [p.name]: value } });
    if (p.kind === "bool") {
      input = el("input", { type: "checkbox" });
      input.addEventListener("change", () => set(input.checked));
    } else if (p.kind === "choice") {
      input = el("select");
      p.options.forEach((o) => input.append(el("option", { value: String(o), text: String(o) })));
      input.addEventListener("change", () => {
        const o = p.options.find((x) => String(x) === input.value);
        set(o);
      });
    } else if (p.kind === "int" || p.kind === "float") {
      input = el("input", { type: "number", min: p.min, max: p.max, step: p.kind === "int" ? 1 : "any" });
      input.addEventListener("change", () => set(Number(input.value)));
    } else if (p.kind === "color") {
      input = el("input", { type: "color" });
      input.addEventListener("change", () => set(input.value));
    } else if (p.kind === "rects") {
      input = el("input", { type: "text", placeholder: "[[x, y, w, h], ...]", spellcheck: "false" });
      input.addEventListener("change", () => {
        let value;
        try { value = JSON.parse(input.value || "[]"); } catch (_) {
          this.showError(`${p.label}: not a list like [[10, 10, 100, 50]]`);
          return;
        }
        set(value);
      });
    } else {
      input = el("input", { type: "text", maxlength: 200 });
      input.addEventListener("change", () => set(input.value));
    }
    input.dataset.param = p.name;
    return input;
  }

  update(stage) {
    const r = this.rows.get(stage.id);
    if (!r) return;
    r.toggle.checked = stage.enabled;
    r.li.classList.toggle("enabled", stage.enabled);
    r.li.classList.toggle("failed", Boolean(stage.error));
    r.ms.textContent = stage.enabled ? fmtMs(stage.ms) : "off";
    r.error.hidden = !stage.error;
    r.error.textContent = stage.error || "";
    for (const [name, input] of r.inputs) {
      if (document.activeElement === input) continue; // the user is typing
      const v = stage.params[name];
      if (input.type === "checkbox") input.checked = Boolean(v);
      else if (Array.isArray(v)) input.value = JSON.stringify(v);
      else input.value = String(v);
    }
  }

  move(id, delta) {
    const ids = this.stages.map((s) => s.id);
    const i = ids.indexOf(id);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= ids.length) return;
    [ids[i], ids[j]] = [ids[j], ids[i]];
    this.send({ action: "reorder", order: ids });
  }
}

export function startProcessors({ session, root }) {
  const panel = new ProcessorPanel({ root });
  session.addEventListener("channel", (ev) => panel.attach(ev.detail));
  if (session.channel) panel.attach(session.channel);
  return panel;
}
