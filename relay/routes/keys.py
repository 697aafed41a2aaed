"""What the application holds for its handlers: the configuration, the cameras, the peers,
who may do what."""

from __future__ import annotations

from aiohttp import web

from signaling.peers import PeerManager

from ..cameras import Cameras
from ..config import RelayConfig
from .access import AccessControl

CAMERAS: web.AppKey[Cameras] = web.AppKey("cameras", Cameras)
PEERS: web.AppKey[PeerManager] = web.AppKey("peers", PeerManager)
CONFIG: web.AppKey[RelayConfig] = web.AppKey("config", RelayConfig)
ACCESS: web.AppKey[AccessControl] = web.AppKey("access", AccessControl)
