"""CPU, memory and file descriptors of a process tree, from /proc (Linux)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Sample:
    cpu: float  # seconds of user + system CPU, the tree and its reaped children
    system: float  # of which system
    rss_mb: float
    fds: int
    threads: int


def _stat(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def parent(pid: int) -> int | None:
    try:
        return int(_stat(pid)[1])
    except (OSError, IndexError, ValueError):
        return None


def children(pid: int) -> list[int]:
    """Live descendants of ``pid``."""
    parent_of: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                parent_of[int(entry.name)] = int(_stat(int(entry.name))[1])
            except (OSError, IndexError, ValueError):
                continue
    out: list[int] = []
    frontier = [pid]
    while frontier:
        p = frontier.pop()
        kids = [c for c, pp in parent_of.items() if pp == p]
        out.extend(kids)
        frontier.extend(kids)
    return out


def sample(pid: int) -> Sample:
    cpu = system = rss = 0.0
    fds = threads = 0
    for p in [pid, *children(pid)]:
        try:
            f = _stat(p)
            utime, stime, cutime, cstime = (int(x) for x in f[11:15])
            cpu += (utime + stime + cutime + cstime) / CLK_TCK
            system += (stime + cstime) / CLK_TCK
            threads += int(f[17])
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    rss += int(line.split()[1]) / 1024
            fds += len(os.listdir(f"/proc/{p}/fd"))
        except (OSError, IndexError, ValueError):
            continue  # exited between the listing and the read
    return Sample(cpu, system, rss, fds, threads)
