"""``esp32-relay simulate``: the simulated board alone, with faults chosen on the command line."""

from __future__ import annotations

import argparse
import asyncio

from .board import SimulatedCamera
from .faults import Faults
from .options import SimulatorOptions
from .sensor import framesize_index


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options of ``esp32-relay simulate``."""
    d = SimulatorOptions()
    f = Faults()
    parser.add_argument("--host", default=d.host, help=f"address to listen on (default {d.host})")
    parser.add_argument(
        "--port", type=int, default=d.control_port, help="control server port (default 80; 0: any)"
    )
    parser.add_argument(
        "--stream-port", type=int, help="stream server port (default: --port + 1, as the sketch)"
    )
    parser.add_argument("--fps", type=float, default=d.fps, help=f"frame rate (default {d.fps:g})")
    parser.add_argument(
        "--framesize",
        help="framesize enum value or name, e.g. 11 or SVGA (default SVGA, 800x600)",
    )
    parser.add_argument(
        "--quality", type=int, default=d.quality, help="JPEG quantizer 4..63, lower is better"
    )
    parser.add_argument(
        "--legacy-framesize-enum",
        action="store_true",
        help="use the framesize numbers of esp32-camera before November 2024",
    )
    parser.add_argument(
        "--legacy-stream-format",
        action="store_true",
        help="old sketches: part header and JPEG first, boundary after, no X-Timestamp",
    )
    parser.add_argument(
        "--no-status-line", action="store_true", help="answer /stream without the status line"
    )
    parser.add_argument(
        "--no-led", action="store_true", help="a build without the flash LED (led_intensity -1)"
    )
    parser.add_argument(
        "--scene",
        choices=("camera", "plain"),
        default=d.scene,
        help="camera: a textured room (default); plain: a flat background and one moving box",
    )
    parser.add_argument(
        "--mdns",
        metavar="NAME",
        help="announce the board over mDNS as NAME.local (_http._tcp), as MDNS.begin() does",
    )
    g = parser.add_argument_group("faults (N counts frames on a stream connection; 0 is off)")
    g.add_argument("--drop-every", type=int, default=0, metavar="N", help="reset mid-JPEG")
    g.add_argument("--stall-every", type=int, default=0, metavar="N", help="stall the stream")
    g.add_argument(
        "--stall-seconds", type=float, default=f.stall_seconds, metavar="S", help="stall length"
    )
    g.add_argument(
        "--garbage-every", type=int, default=0, metavar="N", help="junk bytes between parts"
    )
    g.add_argument("--garbage-bytes", type=int, default=f.garbage_bytes, metavar="B")
    g.add_argument(
        "--corrupt-every", type=int, default=0, metavar="N", help="corrupt entropy-coded data"
    )
    g.add_argument(
        "--truncate-every", type=int, default=0, metavar="N", help="JPEG without its end"
    )
    g.add_argument(
        "--mislength-every",
        type=int,
        default=0,
        metavar="N",
        help="announce a wrong Content-Length (alternately too long and too short)",
    )
    g.add_argument("--mislength-bytes", type=int, default=f.mislength_bytes, metavar="B")
    g.add_argument(
        "--reboot-every", type=int, default=0, metavar="N", help="drop all, refuse, reset settings"
    )
    g.add_argument(
        "--reboot-seconds", type=float, default=f.reboot_seconds, metavar="S", help="down time"
    )
    g.add_argument(
        "--refuse-first", type=float, default=0.0, metavar="S", help="refuse connections at start"
    )
    g.add_argument("--stream-500", action="store_true", help="answer /stream with HTTP 500")
    g.add_argument(
        "--drip", type=int, default=0, metavar="BYTES_PER_S", help="send the stream this slowly"
    )
    g.add_argument("--seed", type=int, default=0, help="seed for garbage and corruption bytes")
    c = parser.add_argument_group("control server faults (N counts /control requests; 0 is off)")
    c.add_argument(
        "--control-500-every", type=int, default=0, metavar="N", help="answer 500, apply nothing"
    )
    c.add_argument(
        "--control-reset-every",
        type=int,
        default=0,
        metavar="N",
        help="reset every Nth control-server request (any path) without answering",
    )
    c.add_argument("--control-delay-every", type=int, default=0, metavar="N", help="answer late")
    c.add_argument(
        "--control-delay",
        type=float,
        default=f.control_delay_seconds,
        metavar="S",
        help="how late (the control server is busy meanwhile)",
    )
    c.add_argument(
        "--control-outage-every",
        type=int,
        default=0,
        metavar="N",
        help="reset, then refuse control connections for a while",
    )
    c.add_argument(
        "--control-outage-seconds",
        type=float,
        default=f.control_outage_seconds,
        metavar="S",
        help="how long the control server stays away",
    )


def options_from_args(args: argparse.Namespace) -> SimulatorOptions:
    """SimulatorOptions from arguments parsed with :func:`add_arguments`."""
    framesize: int | None = None
    if args.framesize is not None:
        text = str(args.framesize)
        framesize = (
            int(text) if text.isdigit() else framesize_index(text, args.legacy_framesize_enum)
        )
    stream_port = args.stream_port
    if stream_port is None:
        stream_port = args.port + 1 if args.port else 0
    return SimulatorOptions(
        host=args.host,
        control_port=args.port,
        stream_port=stream_port,
        fps=args.fps,
        framesize=framesize,
        quality=args.quality,
        legacy_framesize_enum=args.legacy_framesize_enum,
        mdns_name=args.mdns,
        scene=args.scene,
        legacy_stream_format=args.legacy_stream_format,
        no_status_line=args.no_status_line,
        led_illuminator=not args.no_led,
        faults=Faults(
            drop_every=args.drop_every,
            stall_every=args.stall_every,
            stall_seconds=args.stall_seconds,
            garbage_every=args.garbage_every,
            garbage_bytes=args.garbage_bytes,
            corrupt_every=args.corrupt_every,
            truncate_every=args.truncate_every,
            mislength_every=args.mislength_every,
            mislength_bytes=args.mislength_bytes,
            reboot_every=args.reboot_every,
            reboot_seconds=args.reboot_seconds,
            refuse_first_seconds=args.refuse_first,
            stream_http_500=args.stream_500,
            drip_bytes_per_second=args.drip,
            seed=args.seed,
            control_500_every=args.control_500_every,
            control_reset_every=args.control_reset_every,
            control_delay_every=args.control_delay_every,
            control_delay_seconds=args.control_delay,
            control_outage_every=args.control_outage_every,
            control_outage_seconds=args.control_outage_seconds,
        ),
    )


async def run_simulator(options: SimulatorOptions | None = None) -> None:
    """Run a simulated camera until cancelled, printing its URLs."""
    camera = SimulatedCamera(options)
    await camera.start()
    try:
        w, h = camera.frame_size
        print(f"Simulated ESP32-CAM, {w}x{h} at {camera.options.fps:g} fps", flush=True)
        print(f"  stream:  {camera.stream_url}", flush=True)
        print(f"  control: {camera.control_url}  (/status, /control, /capture)", flush=True)
        faults = camera.options.faults.describe()
        if faults:
            print(f"  faults:  {faults}", flush=True)
        await asyncio.Event().wait()
    finally:
        await camera.stop()
