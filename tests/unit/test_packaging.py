"""The distribution carries every package and the pages' files."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _declared() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]


def test_every_package_of_the_tree_is_listed() -> None:
    listed = set(_declared()["packages"])
    found = {
        ".".join(init.parent.relative_to(ROOT).parts)
        for top in ("relay", "signaling")
        for init in (ROOT / top).rglob("__init__.py")
    }
    web = {"relay.web", "relay.web.static", "relay.web.templates"}
    assert listed == found | web, (found | web) ^ listed


def test_every_page_file_is_package_data() -> None:
    data = _declared()["package-data"]
    patterns = {
        "relay.web.static": (ROOT / "web" / "static", data["relay.web.static"]),
        "relay.web.templates": (ROOT / "web" / "templates", data["relay.web.templates"]),
    }
    for folder, globs in patterns.values():
        shipped = {p for g in globs for p in folder.glob(g)}
        assert shipped == set(folder.iterdir()), set(folder.iterdir()) - shipped
