"""The audit log: who changed what, when, from where. In the log output and in memory,
bounded, newest first, for ``GET /api/audit``."""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from typing import Any

log = logging.getLogger("relay.audit")


@dataclass(frozen=True)
class AuditEntry:
    action: str  # control | processors | login | login_failed | logout | session_ended ...
    who: str
    remote: str | None
    camera: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.time)


class AuditLog:
    def __init__(self, max_entries: int = 1000) -> None:
        self._entries: deque[AuditEntry] = deque(maxlen=max_entries)

    def record(
        self,
        action: str,
        who: str,
        remote: str | None,
        camera: str | None = None,
        /,
        **detail: Any,
    ) -> AuditEntry:
        entry = AuditEntry(action, who, remote, camera, detail)
        self._entries.append(entry)
        log.info(
            "%s by %r from %s%s%s",  # %r: a name typed into the login form cannot forge lines
            action,
            who,
            remote or "?",
            f" camera {camera}" if camera else "",
            "".join(f" {k}={v!r}" for k, v in detail.items()),
        )
        return entry

    def entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        newest = list(reversed(self._entries))
        return [asdict(e) for e in (newest if limit is None else newest[:limit])]

    def __len__(self) -> int:
        return len(self._entries)
