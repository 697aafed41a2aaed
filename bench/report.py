"""Turns the benchmark's raw results into bench/RESULTS.md and PNG plots."""

from __future__ import annotations

from pathlib import Path
from typing import Any

TARGETS = {
    "glass_p50_ms": 20.0,
    "glass_p95_ms": 30.0,
    "relay_added_p95_svga_ms": 10.0,
    "relay_added_p95_uxga_ms": 25.0,
}


def _fmt(v: Any, digits: int = 1) -> str:
    if v is None:
        return "–"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def marginal_cpu(points: list[dict[str, Any]]) -> float | None:
    """Least-squares slope of CPU against viewers over the points that ran at full rate."""
    good = [p for p in points if "cpu_cores" in p and "error" not in p]
    if len(good) < 2:
        return None
    xs = [p["viewers"] for p in good]
    ys = [p["cpu_cores"] for p in good]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else None


def _glass_rows(peers: dict[str, Any], key: str = "glass") -> list[str]:
    rows = [
        "| peer | p50 ms | p95 ms | p99 ms | fps | frames | first 10 s p50 | first 10 s p95 |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, e in peers.items():
        g = e.get(key)
        if g is None:
            rows.append(f"| {name} | {e.get('unavailable', 'not run')} | | | | | | |")
            continue
        if "error" in g:
            rows.append(f"| {name} | error: {g['error']} | | | | | | |")
            continue
        f10 = g.get("first10") or {}
        rows.append(
            f"| {name} | {_fmt(g.get('p50'))} | {_fmt(g.get('p95'))} | {_fmt(g.get('p99'))} "
            f"| {_fmt(g.get('fps'))} | {_fmt(g.get('frames'))} | {_fmt(f10.get('p50'))} "
            f"| {_fmt(f10.get('p95'))} |"
        )
    return rows


def _cost_rows(peers: dict[str, Any]) -> list[str]:
    rows = [
        "| peer | viewers | CPU (cores) | of which system | RSS MB | slowest viewer fps | note |",
        "| --- | ---: | ---: | ---: | ---: | ---: | --- |",
    ]
    for name, e in peers.items():
        for p in e.get("cost") or []:
            rows.append(
                f"| {name} | {p['viewers']} | {_fmt(p.get('cpu_cores'), 3)} "
                f"| {_fmt(p.get('system_cores'), 3)} | {_fmt(p.get('rss_mb'))} "
                f"| {_fmt(p.get('min_fps'))} | {p.get('error', '')} |"
            )
    return rows


def _stage_rows(stages: list[dict[str, Any]]) -> list[str]:
    names = [
        ("wait", "JPEG received → worker"),
        ("decode", "decode"),
        ("encode", "VP8 encode"),
        ("received_to_encoded", "received → encoded"),
        ("received_to_sent_all", "received → last packet sent"),
    ]
    rows = [
        "| frame size | stage | p50 ms | p95 ms | p99 ms |",
        "| --- | --- | ---: | ---: | ---: |",
    ]
    for s in stages:
        for key, label in names:
            st = s["stages"].get(key, {})
            rows.append(
                f"| {s['framesize']} ({s.get('resolution')}) | {label} | {_fmt(st.get('p50'), 2)} "
                f"| {_fmt(st.get('p95'), 2)} | {_fmt(st.get('p99'), 2)} |"
            )
    return rows


def _ratio(ours: float | None, theirs: float | None) -> str:
    if ours is None or theirs in (None, 0):
        return "–"
    return f"{ours / theirs:.2f}"


def _targets(results: dict[str, Any]) -> list[str]:
    peers = results["peers"]
    relay = peers.get("relay", {})
    gst = peers.get("gstreamer", {})
    rg, gg = relay.get("glass") or {}, gst.get("glass") or {}
    stages = {s["framesize"]: s["stages"] for s in results.get("stages", [])}
    svga = stages.get("SVGA", {}).get("received_to_sent_all", {})
    uxga = stages.get("UXGA", {}).get("received_to_sent_all", {})
    rc, gc = relay.get("cost") or [], gst.get("cost") or []
    r1 = next((p.get("cpu_cores") for p in rc if p["viewers"] == 1), None)
    g1 = next((p.get("cpu_cores") for p in gc if p["viewers"] == 1), None)
    rm, gm = marginal_cpu(rc), marginal_cpu(gc)
    r100 = next((p for p in rc if p["viewers"] == 100), None)

    def ok(cond: bool | None) -> str:
        return "–" if cond is None else ("met" if cond else "**missed**")

    def lt(a: float | None, b: float | None) -> bool | None:
        return None if a is None or b is None else a <= b

    p50, p95 = rg.get("p50"), rg.get("p95")
    rv, gv = relay.get("glass_vsync") or {}, gst.get("glass_vsync") or {}
    rows = [
        "| target | ours | GStreamer (same run) | ratio ours / GStreamer | status |",
        "| --- | ---: | ---: | ---: | --- |",
        f"| glass-to-glass p50 ≤ 20 ms and below GStreamer | {_fmt(p50)} | {_fmt(gg.get('p50'))} "
        f"| {_ratio(p50, gg.get('p50'))} | "
        f"{ok(lt(p50, 20.0) and (gg.get('p50') is None or lt(p50, gg.get('p50'))))} |",
        f"| glass-to-glass p95 ≤ 30 ms and below GStreamer | {_fmt(p95)} | {_fmt(gg.get('p95'))} "
        f"| {_ratio(p95, gg.get('p95'))} | "
        f"{ok(lt(p95, 30.0) and (gg.get('p95') is None or lt(p95, gg.get('p95'))))} |",
        f"| (60 Hz compositor) glass-to-glass p50, p95 | {_fmt(rv.get('p50'))}, "
        f"{_fmt(rv.get('p95'))} | {_fmt(gv.get('p50'))}, {_fmt(gv.get('p95'))} "
        f"| {_ratio(rv.get('p50'), gv.get('p50'))}, {_ratio(rv.get('p95'), gv.get('p95'))} "
        f"| {ok(lt(rv.get('p50'), 20.0) and lt(rv.get('p95'), 30.0))} |",
        f"| relay-added p95 ≤ 10 ms at 800x600 | {_fmt(svga.get('p95'), 2)} | | | "
        f"{ok(lt(svga.get('p95'), 10.0))} |",
        f"| relay-added p95 ≤ 25 ms at 1600x1200 | {_fmt(uxga.get('p95'), 2)} | | | "
        f"{ok(lt(uxga.get('p95'), 25.0))} |",
        f"| CPU, one camera one viewer ≤ GStreamer's | {_fmt(r1, 3)} | {_fmt(g1, 3)} "
        f"| {_ratio(r1, g1)} | {ok(lt(r1, g1) if g1 is not None else lt(r1, 0.10))} |",
        f"| marginal CPU per viewer ≤ GStreamer's | {_fmt(rm, 4)} | {_fmt(gm, 4)} "
        f"| {_ratio(rm, gm)} | {ok(lt(rm, gm) if gm is not None else lt(rm, 0.002))} |",
        f"| 100 viewers at full frame rate | "
        f"{_fmt(r100.get('min_fps')) if r100 else '–'} fps (slowest) | | | "
        f"{ok(r100.get('min_fps', 0) >= 24 if r100 else None)} |",
    ]
    return rows


def _plots(results: dict[str, Any], out: Path) -> list[str]:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return ["(matplotlib is not installed: no plots)"]
    made: list[str] = []
    peers = results["peers"]

    fig, ax = plt.subplots(figsize=(7, 4))
    names = [n for n, e in peers.items() if (e.get("glass") or {}).get("p50") is not None]
    if names:
        p50 = [peers[n]["glass"]["p50"] for n in names]
        p95 = [peers[n]["glass"]["p95"] for n in names]
        xs = range(len(names))
        ax.bar([x - 0.2 for x in xs], p50, width=0.4, label="p50")
        ax.bar([x + 0.2 for x in xs], p95, width=0.4, label="p95")
        ax.set_xticks(list(xs), names)
        ax.set_ylabel("glass-to-glass latency (ms)")
        ax.set_title("Chromium glass-to-glass, 800x600 at 25 fps")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "glass.png", dpi=100)
        made.append("![glass-to-glass latency](glass.png)")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 4))
    drawn = False
    for name, e in peers.items():
        pts = [p for p in e.get("cost") or [] if "cpu_cores" in p]
        if pts:
            ax.plot([p["viewers"] for p in pts], [p["cpu_cores"] for p in pts], "o-", label=name)
            drawn = True
    if drawn:
        ax.set_xlabel("viewers")
        ax.set_ylabel("CPU (cores)")
        ax.set_title("CPU of each peer as viewers grow (800x600, 25 fps)")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / "cost.png", dpi=100)
        made.append("![CPU per viewer count](cost.png)")
    plt.close(fig)

    soak = soak_series(results)
    if soak:
        keys = ["rss_mb", "fds", "threads", "tasks", "sessions"]
        labels = ["RSS (MB)", "open fds", "threads", "asyncio tasks", "sessions"]
        fig, axes = plt.subplots(len(keys), 1, figsize=(7, 9), sharex=True)
        t = [s["t"] / 60 for s in soak]
        for ax, key, label in zip(axes, keys, labels, strict=True):
            ax.plot(t, [s.get(key) or 0 for s in soak])
            ax.set_ylabel(label)
        axes[-1].set_xlabel("minutes")
        axes[0].set_title("Soak: viewers churning, board faults, control traffic")
        fig.tight_layout()
        fig.savefig(out / "soak.png", dpi=100)
        made.append("![soak](soak.png)")
        plt.close(fig)
    return made


def soak_series(results: dict[str, Any]) -> list[dict[str, Any]]:
    """The soak's samples: a list in older runs, {"series": ...} since faults were added."""
    soak = results.get("soak")
    if isinstance(soak, dict):
        return list(soak.get("series", []))
    return list(soak or [])


def _access_rows(access: dict[str, Any] | None) -> list[str]:
    if not access:
        return []
    rows = [
        "## What access control costs",
        "",
        "`esp32-relay` from a file, auth off and on alternated in one run (`bench/access.py`):"
        " the median WHEP answer time over 20 offers, and the relay process's CPU with one"
        " viewer, reading the benchmark's simulated board.",
        "",
        "| auth | WHEP answer median (ms) | one viewer (cores) |",
        "| --- | --- | --- |",
    ]
    for key in ("off", "on"):
        a = access[key]
        rows.append(
            f"| {key} | {_fmt(a['answer_ms_median'], 2)} | {_fmt(a['one_viewer_cores'], 4)} |"
        )
    return [*rows, ""]


def _mjpeg_rows(m: dict[str, Any] | None) -> list[str]:
    if not m:
        return []
    rows = ["## MJPEG re-serving", ""]
    if "error" in m:
        return [*rows, f"Not measured: {m['error']}.", ""]
    rows += [
        "The relay (its own process) reading a separate simulated board at SVGA 25 fps, with"
        " 1 and with 50 clients of `stream.mjpg` and a snapshot every 0.2 s"
        " (`bench/mjpeg_out.py`). Target: at most 0.0005 cores per further client.",
        "",
        "| clients | relay (cores) | of which kernel | snapshot p50 / p95 (ms) |",
        "| --- | --- | --- | --- |",
    ]
    for key in ("one", "many"):
        r = m[key]
        rows.append(
            f"| {r['clients']} | {_fmt(r['relay_cores'], 4)} | {_fmt(r['relay_system_cores'], 4)}"
            f" | {_fmt(r['snapshot_p50_ms'])} / {_fmt(r['snapshot_p95_ms'])} |"
        )
    rows += ["", f"Per further client: {m['per_further_client_cores']} cores.", ""]
    return rows


def _first_viewer_rows(f: dict[str, Any] | None) -> list[str]:
    if not f:
        return []
    rows = ["## The first viewer, beside a native pipeline", ""]
    if "error" in f:
        return [*rows, f"Not measured: {f['error']}.", ""]
    rows += [
        "One headless Chromium viewer (unthrottled), SVGA 25 fps, the relay and GStreamer's"
        " webrtcbin with a user's `vp8enc deadline=1 cpu-used=8 lag-in-frames=0"
        " error-resilient=default end-usage=cbr target-bitrate=2000000`, alternating; medians"
        " of the rounds (`bench/first_viewer.py`).",
        "",
        "| scene | peer | CPU (cores) | glass-to-glass p50 / p95 (ms) | per round (cores) |",
        "| --- | --- | --- | --- | --- |",
    ]
    for scene, peers in f.items():
        for name, r in peers.items():
            each = ", ".join(_fmt(x.get("cpu_cores"), 3) for x in r["runs"])
            rows.append(
                f"| {scene} | {name} | {_fmt(r['cpu_cores'], 3)} | {_fmt(r['p50'])} /"
                f" {_fmt(r['p95'])} | {each} |"
            )
    return [*rows, ""]


def _cameras_rows(c: dict[str, Any] | None) -> list[str]:
    if not c:
        return []
    rows = ["## Several cameras", ""]
    if "error" in c:
        return [*rows, f"Not measured: {c['error']}.", ""]
    g = c["grid"]
    rows += [
        f"{c['cameras']} simulated boards at {c['framesize']} {c['fps']:g} fps, each in its own"
        " process (`bench/cameras.py`). The grid page in headless Chromium, one peer"
        f" connection per tile: relay {_fmt(g['relay_cores'], 3)} cores, Chromium"
        f" {_fmt(g['browser_cores'], 3)} cores (every browser process, software decoding).",
        "",
        "| tile | size | fps | glass-to-glass p50 / p95 (ms) | frames |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, t in g["tiles"].items():
        rows.append(
            f"| {name} | {t['size']} | {_fmt(t['fps'])} | {_fmt(t['p50'])} / {_fmt(t['p95'])}"
            f" | {t['frames']} |"
        )
    one, four = c["one_relay"], c["four_relays"]
    rows += [
        "",
        "5 aiortc viewers per camera (`bench/load_viewers.py`):",
        "",
        "| relays | relay CPU (cores) | memory (MB) | slowest viewer (fps) |",
        "| --- | --- | --- | --- |",
        f"| one relay, 4 cameras | {_fmt(one['relay_cores'], 3)} | {_fmt(one['relay_rss_mb'])}"
        f" | {_fmt(one['min_viewer_fps'])} |",
        f"| 4 relays, 1 camera each | {_fmt(four['relay_cores'], 3)}"
        f" | {_fmt(four['relay_rss_mb'])} | {_fmt(four['min_viewer_fps'])} |",
        "",
    ]
    return rows


def _turn_rows(turn: dict[str, Any] | None) -> list[str]:
    if not turn:
        return []
    rows = ["## Glass to glass through TURN", ""]
    if "unavailable" in turn:
        return [*rows, f"Not measured: {turn['unavailable']}.", ""]
    rows += [
        "The relay with `ice.turn_rest` and `relay_only`, the page with"
        " `iceTransportPolicy: \"relay\"`, through Debian's coturn on the namespace's veth,"
        " alternated with the same relay direct (`bench/turn.py`), both reading the benchmark's"
        f" simulated board. coturn relayed {turn.get('relayed_bytes', 0):,} bytes.",
        "",
        "| path | p50 (ms) | p95 (ms) | fps |",
        "| --- | --- | --- | --- |",
    ]
    for kind in ("direct", "turn"):
        for g in turn[kind]:
            rows.append(f"| {kind} | {_fmt(g['p50'])} | {_fmt(g['p95'])} | {_fmt(g['fps'])} |")
    return [*rows, ""]


def _weaklink_rows(weak: dict[str, Any] | None) -> list[str]:
    if not weak:
        return []
    rows = [
        "## A viewer on a weak link",
        "",
        "Chromium behind a shaped link (tbf for the rate with 200 ms of queue, a BPF drop for"
        " the loss) in its own network namespace, beside a Chromium on the plain link, both"
        " watching the same camera (`bench/weaklink.py`). *Layers*: the relay as shipped;"
        " *one encoding*: `[cameras.layers] low = false, adapt = false`; *GStreamer*: the"
        " native peer (`bench/gst_whep.py`, one encoder, no adaptation). CPU over the"
        " measured window: the relay's camera worker (decode and every layer's encode) and"
        " its whole process (which also runs the simulated camera); GStreamer's process.",
        "",
        "| peer | viewer | p50 (ms) | p95 (ms) | fps | longest freeze (ms) | freezes > 1 s |"
        " size | back on top after lift (s) | CPU worker / process (cores) |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for name, run in weak.items():
        if "error" in run:
            rows.append(f"| {name} | {run['error']} | | | | | | | | |")
            continue
        link = f"{run['rate_kbit']} kbit/s, {run['loss']:.0%} loss"
        cpu = run.get("cpu", {})
        cores = f"{_fmt(cpu.get('worker_cores'), 3)} / {_fmt(cpu.get('process_cores'), 3)}"
        for who, label in (("slow", link), ("fast", "plain link")):
            g = run[who]
            top = _fmt(run.get("lifted_to_top_s")) if who == "slow" else ""
            rows.append(
                f"| {name} | {label} | {_fmt(g.get('p50'))} | {_fmt(g.get('p95'))} |"
                f" {_fmt(g.get('fps'))} | {_fmt(g.get('max_gap_ms'), 0)} |"
                f" {len(g.get('freezes', []))} | {g.get('width')}x{g.get('height')} | {top} |"
                f" {cores if who == 'slow' else ''} |"
            )
    return [*rows, ""]


def write_report(results: dict[str, Any], out: Path) -> None:
    peers = results["peers"]
    lines = [
        "# Benchmark results",
        "",
        f"Run {results['started']} on {results['machine']['cpus']} cores, Python "
        f"{results['machine']['python']}, {'QUICK run' if results['quick'] else 'full run'} "
        f"({results.get('seconds', '?')} s). `make bench` reproduces it; raw data in "
        "`bench/raw/results.json`. Every peer reads its own simulated board (800x600, 25 fps, "
        "quality 12) over loopback; WebRTC runs in a private network namespace.",
        "",
        "## Where we stand",
        "",
        *_targets(results),
        "",
        "## Glass to glass in headless Chromium",
        "",
        "From the simulator stamping its send time into the frame to the time Chromium expects "
        "the frame on screen (requestVideoFrameCallback's expectedDisplayTime; for MJPEG, the "
        "first animation frame that shows it). Includes the browser's decode and compositing. "
        "Steady state after a warm-up, and separately the first 10 seconds after connecting.",
        "",
        "**Unthrottled compositor** (`--disable-gpu-vsync --disable-frame-rate-limit`): frames "
        "are drawn when ready, as on a display that shows them when they arrive; this isolates "
        "each peer's own latency.",
        "",
        *_glass_rows(peers, "glass"),
        "",
        "**Compositor on its 60 Hz schedule** (Chromium as shipped): every peer pays the same "
        "8-25 ms wait for the next frame to be drawn.",
        "",
        *_glass_rows(peers, "glass_vsync"),
        "",
        "## Relay-added latency per stage",
        "",
        "From the JPEG's last byte arriving to the last RTP packet of the frame handed to the "
        "transport, one viewer.",
        "",
        *_stage_rows(results.get("stages", [])),
        "",
        "## Cost as viewers grow",
        "",
        "CPU of the peer's processes (from /proc, children included) while N load viewers "
        "(aiortc peers in separate processes that reassemble frames but do not decode) watch.",
        "",
        *_cost_rows(peers),
        "",
        "Marginal CPU per viewer (least-squares slope): "
        + ", ".join(
            f"{name} {_fmt(marginal_cpu(e.get('cost') or []), 4)}"
            for name, e in peers.items()
            if e.get("cost")
        ),
        "",
    ]
    soak = soak_series(results)
    if soak:
        rss = [s["rss_mb"] for s in soak]
        tail = rss[len(rss) // 4 :] or rss
        lines += [
            "## Soak",
            "",
            (
                "(From the last soak run, made separately.) "
                if results.get("soak_from_earlier_run")
                else ""
            )
            + f"{soak[-1]['t'] / 60:.0f} minutes of viewers joining and leaving: RSS "
            f"{min(rss):.1f}-{max(rss):.1f} MB (after the first quarter: "
            f"{min(tail):.1f}-{max(tail):.1f} MB), open fds {soak[0]['fds']} → "
            f"{soak[-1]['fds']}, asyncio tasks {soak[0].get('tasks')} → {soak[-1].get('tasks')}.",
            "",
        ]
        info = results.get("soak")
        if isinstance(info, dict):
            check, control = info.get("check", {}), info.get("control", {})
            moved = ", ".join(
                f"{k} +{v['growth']:g} (bound {v['bound']:g})"
                for k, v in check.items()
                if isinstance(v, dict)
            )
            lines += [
                f"After the first five minutes: {moved}: "
                + ("**within bounds**." if check.get("ok") else "**outside bounds**.")
                + f" Control requests during the soak: {control.get('sent')} sent,"
                f" {control.get('ok')} applied, errors {control.get('errors')}."
                f" Faults as the relay counted them: {info.get('faults')}.",
                "",
            ]
    lines += _access_rows(results.get("access"))
    lines += _turn_rows(results.get("turn"))
    lines += _mjpeg_rows(results.get("mjpeg_out"))
    lines += _first_viewer_rows(results.get("first_viewer"))
    lines += _cameras_rows(results.get("cameras"))
    lines += _weaklink_rows(results.get("weaklink"))
    lines += ["## Plots", "", *_plots(results, out), ""]
    analysis = out / "ANALYSIS.md"
    if analysis.exists():
        lines += [analysis.read_text().strip(), ""]
    (out / "RESULTS.md").write_text("\n".join(lines))
