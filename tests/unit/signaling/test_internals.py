"""aiortc's and aioice's private parts: used in one module only, and still there."""

from __future__ import annotations

import ast
import importlib.metadata
from pathlib import Path

from packaging.requirements import Requirement

import relay
import signaling
from signaling import internals

PACKAGES = (Path(signaling.__file__).parent, Path(relay.__file__).parent)


async def test_installed_aiortc_and_aioice_have_everything_the_relay_borrows() -> None:
    problems = await internals.missing()
    versions = ", ".join(f"{d} {importlib.metadata.version(d)}" for d in ("aiortc", "aioice"))
    assert not problems, (
        f"{versions} no longer provide what signaling/internals.py uses: "
        + "; ".join(problems)
        + ". Adapt signaling/internals.py, then widen the bounds in pyproject.toml."
    )


def test_installed_versions_are_the_tested_range() -> None:
    declared = {
        (req := Requirement(r)).name: req.specifier
        for r in importlib.metadata.requires("esp32-relay") or []
        if "extra ==" not in r
    }
    for dist in ("aiortc", "aioice"):
        spec = declared[dist]
        assert any(s.operator == "<" for s in spec), f"{dist} needs an upper bound: {spec}"
        assert importlib.metadata.version(dist) in spec, (dist, spec)


def _private_uses(path: Path) -> list[str]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute):
            continue
        attr = node.attr
        if not attr.startswith("_") or (attr.startswith("__") and attr.endswith("__")):
            continue
        owner = node.value
        if isinstance(owner, ast.Name) and owner.id in ("self", "cls"):
            continue
        if isinstance(owner, ast.Call) and getattr(owner.func, "id", "") == "super":
            continue
        found.append(f"{path.name}:{node.lineno} .{attr}")
    return found


def test_no_module_but_internals_touches_a_private_attribute_of_aiortc_or_aioice() -> None:
    offenders = []
    for package in PACKAGES:
        for path in package.rglob("*.py"):
            text = path.read_text()
            if path.name == "internals.py" or ("aiortc" not in text and "aioice" not in text):
                continue
            offenders += _private_uses(path)
    assert not offenders, offenders
