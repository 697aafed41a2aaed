"""Roles and identities: who a request is, and what it may do with which camera."""

from __future__ import annotations

import enum
from dataclasses import dataclass


class Role(enum.IntEnum):
    """Each role may do everything the ones below it may."""

    VIEWER = 1  # pages, WHEP, snapshots, MJPEG, RTSP, recordings
    OPERATOR = 2  # also the camera's controls, its processing and its recordings
    ADMIN = 3  # also sessions, the audit log

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.upper()]
        except KeyError:
            raise ValueError(f"must be viewer, operator or admin, not {text!r}") from None

    @property
    def label(self) -> str:
        return self.name.lower()


@dataclass(frozen=True)
class Identity:
    """An authenticated user or token (or, with access control off, anyone).

    ``key`` names the credential, not only the identity: a token whose value changes, or
    a user whose password changes, gets a new key, so its sessions end on reload.
    """

    name: str
    role: Role
    cameras: frozenset[str] = frozenset({"*"})
    kind: str = "user"  # user | token | open
    key: str = ""

    def may_use(self, camera: str) -> bool:
        return "*" in self.cameras or camera in self.cameras

    def may(self, role: Role, camera: str | None = None) -> bool:
        return self.role >= role and (camera is None or self.may_use(camera))

    def describe(self) -> dict[str, object]:
        return {
            "name": self.name,
            "role": self.role.label,
            "kind": self.kind,
            "cameras": sorted(self.cameras),
        }


# With access control off every request is this one: the relay is open, as it says.
ANYONE = Identity("anyone", Role.ADMIN, kind="open", key="open")
