// The kiosk page's start: settings from the page's JSON data block.
import { startKiosk } from "/static/kiosk.js";

const config = JSON.parse(document.getElementById("page-config").textContent);
startKiosk({
  camera: config.camera,
  iceServers: config.iceServers,
  iceTransportPolicy: config.iceTransportPolicy,
  token: config.token,
  video: document.getElementById("video"),
  badge: document.getElementById("badge"),
});
