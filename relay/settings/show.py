"""The effective configuration as a file, secrets masked; and the file's JSON Schema.

``esp32-relay config show`` prints what the relay would run with after the file, the
environment and the flags, in the file's own shape (TOML), so it can be compared with
the file or saved as one. Secrets are replaced by ``"***"``: password hashes, tokens, the
cookie key, TURN secrets and credentials, and passwords inside URLs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import tomli_w

from ..config import RelayConfig, adapter

MASK = "***"
SECRET_KEYS = frozenset(
    {"password_hash", "token", "cookie_key", "secret", "credential", "password"}
)


def file_form(cfg: RelayConfig) -> dict[str, Any]:
    """``cfg`` as the mapping a TOML file would hold (no None: TOML has no null)."""
    data: dict[str, Any] = adapter().dump_python(cfg, mode="json", exclude_none=True)
    for cam in data["cameras"]:
        cam.update(cam.pop("stream"))
        control = cam.get("control", {})
        if "url" in control:
            cam["control_url"] = control.pop("url")
    return data


SECRET_QUERY = frozenset({"token", "key", "password", "secret", "auth", "access_token"})


def _mask_url(url: str) -> str:
    """``url`` with the password of its user part and secret query values masked."""
    parts = urlsplit(url)
    if parts.password is not None:
        userinfo, _, hostport = parts.netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        parts = parts._replace(netloc=f"{user}:{MASK}@{hostport}")
    if parts.query:
        pairs = [p.partition("=") for p in parts.query.split("&")]
        query = "&".join(
            f"{k}={MASK}" if k.lower() in SECRET_QUERY and v else f"{k}{eq}{v}"
            for k, eq, v in pairs
        )
        parts = parts._replace(query=query)
    return urlunsplit(parts)


def masked(value: Any, key: str = "") -> Any:
    """``value`` with every secret replaced by ``***``."""
    if isinstance(value, Mapping):
        return {k: masked(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [masked(v, key) for v in value]
    if isinstance(value, str):
        if key in SECRET_KEYS and value:
            return MASK
        if "://" in value:
            return _mask_url(value)
    return value


def show(cfg: RelayConfig, *, secrets: bool = False) -> str:
    """The effective configuration as TOML."""
    data = file_form(cfg)
    return tomli_w.dumps(data if secrets else masked(data))


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the file, for editors (Taplo, VS Code's Even Better TOML)."""
    schema = adapter().json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "esp32-relay configuration"
    # The default is the embedded simulated camera, not a table anyone writes.
    schema["properties"]["cameras"].pop("default", None)
    return schema
