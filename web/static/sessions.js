// The admins' sessions panel: every viewer connected to the relay, and a button to end one.

const REFRESH_MS = 2000;

const fmt = {
  bytes: (n) => (n >= 1e6 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e3).toFixed(0)} kB`),
  bitrate: (b) => (b == null ? "–" : `${(b / 1e6).toFixed(2)} Mbit/s`),
  since: (t) => new Date(t * 1000).toLocaleTimeString(),
  rtt: (ms) => (ms == null ? "–" : `${ms.toFixed(0)} ms`),
};

export function startSessions({ root }) {
  const body = root.querySelector("[data-sessions]");
  const error = root.querySelector("[data-sessions-error]");
  root.hidden = false;
  const cell = (row, text) => {
    const td = document.createElement("td");
    td.textContent = text;
    row.append(td);
  };
  const refresh = async () => {
    let data;
    try {
      const res = await fetch("/api/sessions", { headers: { Accept: "application/json" } });
      data = await res.json();
      if (!res.ok) throw new Error(data.message || res.statusText);
    } catch (err) {
      error.hidden = false;
      error.textContent = `Sessions: ${err.message}`;
      return;
    }
    error.hidden = true;
    body.replaceChildren();
    for (const s of data.sessions) {
      const row = document.createElement("tr");
      row.dataset.session = s.id;
      cell(row, `${s.identity} (${s.role})`);
      cell(row, s.camera);
      cell(row, s.remote || "?");
      cell(row, fmt.since(s.since));
      cell(row, fmt.bytes(s.bytes_sent));
      cell(row, fmt.bitrate(s.bitrate));
      cell(row, fmt.rtt(s.rtt_ms));
      const td = document.createElement("td");
      const end = document.createElement("button");
      end.type = "button";
      end.textContent = "End";
      end.addEventListener("click", async () => {
        end.disabled = true;
        await fetch(`/api/sessions/${encodeURIComponent(s.id)}`, { method: "DELETE" }).catch(() => {});
        refresh();
      });
      td.append(end);
      row.append(td);
      body.append(row);
    }
  };
  refresh();
  const timer = setInterval(refresh, REFRESH_MS);
  return { refresh, stop: () => clearInterval(timer) };
}
