"""Small, pure edits of SDP text that aiortc does not make itself."""

from __future__ import annotations

import re

PLAYOUT_DELAY = "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay"
_EXTMAP = re.compile(r"^a=extmap:(\d+)(?:/\w+)?\s+(\S+)")


def _video_section(lines: list[str]) -> tuple[int, int] | None:
    """[start, end) line indexes of the first video media section."""
    start = next((i for i, line in enumerate(lines) if line.startswith("m=video")), None)
    if start is None:
        return None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("m=")), len(lines))
    return start, end


def offered_extension_id(offer: str, uri: str) -> int | None:
    """The id the offer's video section gives the header extension ``uri``."""
    lines = offer.splitlines()
    section = _video_section(lines)
    if section is None:
        return None
    for line in lines[section[0] : section[1]]:
        m = _EXTMAP.match(line)
        if m and m.group(2) == uri:
            return int(m.group(1))
    return None


def add_extension(answer: str, ext_id: int, uri: str) -> str | None:
    """The answer with ``a=extmap:ext_id uri`` in its video section, or None if it cannot take it.

    Only one-byte header ids (1-14) are used, and never one the answer already uses.
    """
    if not 1 <= ext_id <= 14:
        return None
    lines = answer.splitlines()
    section = _video_section(lines)
    if section is None:
        return None
    start, end = section
    used = {int(m.group(1)) for line in lines[start:end] if (m := _EXTMAP.match(line))}
    if ext_id in used:
        return None
    last_extmap = max(
        (i for i in range(start, end) if lines[i].startswith("a=extmap:")), default=None
    )
    anchor = last_extmap if last_extmap is not None else start
    lines.insert(anchor + 1, f"a=extmap:{ext_id} {uri}")
    return "\r\n".join(lines) + "\r\n"
