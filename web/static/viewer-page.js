// The viewer page's start: reads the page's settings from its JSON data block (no inline
// script, so the Content Security Policy needs no 'unsafe-inline').
import { startViewer } from "/static/viewer.js";
import { startProcessors } from "/static/processors.js";
import { startSessions } from "/static/sessions.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
const form = document.querySelector("[data-controls-form]");
if (form) form.addEventListener("submit", (ev) => ev.preventDefault());

const controls = document.getElementById("controls");
const processors = document.getElementById("processors");
if (!config.mayControl) {
  // The relay answers a viewer's changes `forbidden`; the page does not offer them.
  for (const section of [controls, processors]) section.hidden = true;
  const note = document.createElement("p");
  note.className = "access-note";
  note.dataset.readOnly = "1";
  note.textContent = `Watching as ${config.identity.name} (${config.identity.role}): changing the camera needs the operator role.`;
  controls.after(note);
}

const session = startViewer({
  camera: config.camera,
  iceServers: config.iceServers,
  iceTransportPolicy: config.iceTransportPolicy,
  token: config.token,
  video: document.getElementById("video"),
  badge: document.getElementById("state"),
  message: document.getElementById("message"),
  stats: document.getElementById("stats"),
  controls: config.mayControl ? controls : null,
  controlSchema: JSON.parse(document.getElementById("control-schema").textContent),
});
if (config.mayControl) window.relayProcessors = startProcessors({ session, root: processors });
if (config.isAdmin) window.relaySessions = startSessions({ root: document.getElementById("sessions") });

// A login that expired or was ended: back to the login page, then here again.
session.addEventListener("unauthorized", (ev) => {
  if (ev.detail.status === 401 && !config.token && !config.open) {
    location.href = `/login?next=${encodeURIComponent(location.pathname + location.search)}`;
  }
});
