"""The pages' templates and static files, shipped inside the package as ``relay.web``.

pyproject.toml maps the repository's ``web/`` folder onto the package ``relay.web``, so a
wheel, ``pip install .`` and the editable install all carry the same files, found through
the import system rather than by a path relative to the source tree.
"""

from __future__ import annotations

import importlib.resources
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

WEB_PACKAGE = "relay.web"


def web_root() -> Path:
    """The folder holding ``templates/`` and ``static/``; raises if the install lacks it."""
    root = Path(str(importlib.resources.files(WEB_PACKAGE)))
    for sub in ("templates", "static"):
        if not (root / sub).is_dir():
            raise RuntimeError(f"{WEB_PACKAGE} has no {sub}/ folder at {root}: a broken install")
    return root


def static_files(root: Path) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """``GET /static/{path}``: a file under ``root``, or a 404 in the interface's shape.

    Not aiohttp's ``add_static``: its FileResponse finds a missing file only while
    sending, after every middleware has returned, so the 404 would be a bare one.
    """
    base = root.resolve()

    async def handler(request: web.Request) -> web.StreamResponse:
        rel = request.match_info["path"]
        target = (base / rel).resolve()
        # resolve() folds "..", and symlinks out of the folder, before the check.
        if not target.is_relative_to(base) or not target.is_file():
            raise web.HTTPNotFound(text=f"no static file {rel!r}")
        return web.FileResponse(target)

    return handler
