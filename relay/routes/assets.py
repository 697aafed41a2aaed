"""The pages' templates and static files, shipped inside the package as ``relay.web``.

pyproject.toml maps the repository's ``web/`` folder onto the package ``relay.web``, so a
wheel, ``pip install .`` and the editable install all carry the same files, found through
the import system rather than by a path relative to the source tree.
"""

from __future__ import annotations

import importlib.resources
from pathlib import Path

WEB_PACKAGE = "relay.web"


def web_root() -> Path:
    """The folder holding ``templates/`` and ``static/``; raises if the install lacks it."""
    root = Path(str(importlib.resources.files(WEB_PACKAGE)))
    for sub in ("templates", "static"):
        if not (root / sub).is_dir():
            raise RuntimeError(f"{WEB_PACKAGE} has no {sub}/ folder at {root}: a broken install")
    return root
