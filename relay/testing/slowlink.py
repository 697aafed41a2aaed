"""A viewer's own weak link, inside the private network namespace tests/netns-run makes.

Traffic between two addresses of one namespace takes the loopback route, so a viewer on a
slow link needs a namespace of its own: a child network namespace (held open by a
sleeping ``unshare -n``) with one end of a veth pair, the other end in the test's
namespace. On the test's end, towards the viewer:

* rate: the kernel's token bucket filter (``tc qdisc ... tbf``; this kernel has no netem);
* random loss: a classic BPF program on the ``clsact`` egress hook in direct-action mode
  that reads the kernel's random number (``ld rand``) and drops the packet when it falls
  under the loss share. It needs neither netem, nor nftables, nor the ``gact`` action.

A command runs in the viewer's namespace through ``nsenter --net``.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

TC_ACT_SHOT = 2
TC_ACT_UNSPEC = 0xFFFFFFFF  # -1: the packet goes on
SKF_AD_RANDOM = 0xFFFFF000 + 56  # SKF_AD_OFF + SKF_AD_RANDOM: a load of this reads random bits


def loss_bytecode(share: float) -> str:
    """tc's ``bytecode`` text for a cBPF program dropping a random ``share`` of packets."""
    threshold = int(share * 2**32)
    program = [
        (0x20, 0, 0, SKF_AD_RANDOM),  # ld rand
        (0x35, 1, 0, threshold),  # jge threshold -> pass
        (0x06, 0, 0, TC_ACT_SHOT),  # ret drop
        (0x06, 0, 0, TC_ACT_UNSPEC),  # ret pass
    ]
    return ",".join([str(len(program)), *(f"{c} {jt} {jf} {k}" for c, jt, jf, k in program)])


def _run(*args: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=10, check=False)
    if done.returncode:
        raise RuntimeError(f"{' '.join(args)}: {done.stderr.strip() or done.returncode}")


@dataclass
class SlowLink:
    """One viewer namespace behind a veth pair; ``index`` picks its names and subnet."""

    index: int
    holder: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def device(self) -> str:
        return f"slow{self.index}a"

    @property
    def relay_address(self) -> str:
        return f"10.213.{60 + self.index}.1"

    @property
    def viewer_address(self) -> str:
        return f"10.213.{60 + self.index}.2"

    def open(self) -> SlowLink:
        self.holder = subprocess.Popen(["unshare", "--net", "sleep", "3600"])
        ns = f"/proc/{self.holder.pid}/ns/net"
        peer = f"slow{self.index}b"
        for _ in range(50):  # the child's namespace exists once unshare has run
            if subprocess.run(["nsenter", f"--net={ns}", "true"], check=False).returncode == 0:
                break
        _run("ip", "link", "add", self.device, "type", "veth", "peer", "name", peer)
        _run("ip", "link", "set", peer, "netns", ns)
        _run("ip", "addr", "add", f"{self.relay_address}/24", "dev", self.device)
        _run("ip", "link", "set", self.device, "up")
        for cmd in (
            ["ip", "addr", "add", f"{self.viewer_address}/24", "dev", peer],
            ["ip", "link", "set", peer, "up"],
            ["ip", "link", "set", "lo", "up"],
        ):
            _run("nsenter", f"--net={ns}", *cmd)
        return self

    def shape(self, rate_kbit: int | None, loss: float = 0.0, latency_ms: int = 50) -> None:
        """Limit what reaches the viewer to ``rate_kbit`` and drop ``loss`` of it; the queue
        holds ``latency_ms`` of data at that rate (beyond it, packets are dropped)."""
        self.lift()
        if rate_kbit:
            _run(
                "tc", "qdisc", "add", "dev", self.device, "root", "tbf",
                "rate", f"{rate_kbit}kbit", "burst", "16kbit", "latency", f"{latency_ms}ms",
            )  # fmt: skip
        if loss:
            _run("tc", "qdisc", "add", "dev", self.device, "clsact")
            _run(
                "tc", "filter", "add", "dev", self.device, "egress",
                "bpf", "da", "bytecode", loss_bytecode(loss),
            )  # fmt: skip

    def lift(self) -> None:
        for kind in ("root", "clsact"):
            subprocess.run(
                ["tc", "qdisc", "del", "dev", self.device, kind], capture_output=True, check=False
            )

    def command(self, args: Sequence[str]) -> list[str]:
        """``args`` to run inside the viewer's namespace."""
        assert self.holder is not None
        return ["nsenter", f"--net=/proc/{self.holder.pid}/ns/net", *args]

    async def spawn(self, args: Sequence[str]) -> asyncio.subprocess.Process:
        return await asyncio.create_subprocess_exec(
            *self.command(args), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
        )

    def close(self) -> None:
        with contextlib.suppress(Exception):
            _run("ip", "link", "del", self.device)
        if self.holder is not None:
            self.holder.kill()
            self.holder.wait(timeout=5)
            self.holder = None
