"""The ``[tls]`` section: HTTPS from a certificate and key, for secure contexts.

Browsers give Wake Lock, ``Secure`` cookies and camera-less WebRTC on insecure origins
only to ``localhost``; a kiosk or phone reaching the relay by address needs HTTPS.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass

from .common.settings import SECTION


@dataclass(frozen=True)
class TlsConfig:
    __pydantic_config__ = SECTION

    cert: str = ""
    key: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.cert)

    def problems(self) -> list[str]:
        if bool(self.cert) != bool(self.key):
            return ["cert and key go together; set both or neither"]
        return []

    def context(self) -> ssl.SSLContext:
        """The server context; raises ssl.SSLError or OSError naming what is wrong."""
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ctx.load_cert_chain(self.cert, self.key)
        return ctx
