"""The layout's import rules (docs/architecture.md, ADR 0015), checked on the
source: every import of every module of vm/, ledger/, consensus/ and cli/,
including imports inside functions and under TYPE_CHECKING.

- packages: cli -> consensus -> ledger -> vm, never upward;
- the ledger core (``ledger/*.py``) imports no feature and not the client;
  the threshold library (``ledger/threshold/``) neither;
- a feature imports another feature only through its ``interface`` module;
- the client imports the core, the threshold library and the features'
  ``bodies`` and ``interface`` modules, never the node;
- the consensus engine does not import the node;
- one feature's commands do not import another's.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("vm", "ledger", "consensus", "cli")
ORDER = {"vm": 0, "ledger": 1, "consensus": 2, "cli": 3}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def all_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


MODULES = all_modules()


def imported_modules(name: str, path: Path) -> Iterator[str]:
    """The modules ``name`` imports (``from p import m`` names the module p.m if there is one)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                yield candidate if candidate in MODULES else base


def owner(module: str) -> str:
    """The part of the layout a module belongs to."""
    parts = module.split(".")
    if parts[0] == "cli" and len(parts) > 2 and parts[1] == "features":
        return ".".join(parts[:3])
    if parts[0] != "ledger" or len(parts) == 1:
        return ".".join(parts[:2]) if parts[0] == "consensus" else parts[0]
    if parts[1] == "features":
        return ".".join(parts[:3]) if len(parts) > 2 else "ledger.features"
    if parts[1] in ("client", "threshold"):
        return f"ledger.{parts[1]}"
    return "ledger.core"


def violation(importer: str, imported: str) -> str | None:
    """Why ``importer`` may not import ``imported``, or None."""
    top, target_top = importer.split(".")[0], imported.split(".")[0]
    if target_top not in ORDER:
        return None
    if ORDER[target_top] > ORDER[top]:
        return "imports a package above its own"
    source, target = owner(importer), owner(imported)
    if source == target:
        return None
    core = source in ("ledger.core", "ledger.threshold") and importer != "ledger"
    if core and (target.startswith("ledger.features") or target == "ledger.client"):
        return "the core imports a feature or the client"
    leaf = imported.split(".")[-1]
    if (
        source.startswith("ledger.features.")
        and target.startswith("ledger.features")
        and leaf != "interface"
    ):
        return "a feature imports another feature's internals (use its interface)"
    if (
        source == "ledger.client"
        and target.startswith("ledger.features.")
        and leaf not in ("bodies", "interface")
    ):
        return "the client imports a feature's internals (only bodies and interface)"
    if source == "consensus.engine" and target.startswith("consensus.node"):
        return "the engine imports the node"
    if source.startswith("cli.features.") and target.startswith("cli.features."):
        return "one feature's commands import another's (share through cli.submission)"
    return None


def violations() -> list[str]:
    found = []
    for name, path in sorted(MODULES.items()):
        for imported in sorted(set(imported_modules(name, path))):
            reason = violation(name, imported)
            if reason is not None:
                found.append(f"{name} -> {imported}: {reason}")
    return found


def test_no_module_imports_against_the_layout() -> None:
    assert violations() == []


@pytest.mark.parametrize(
    "importer,imported",
    [
        ("ledger.types", "ledger.features.bank.bodies"),
        ("ledger.threshold.frost", "ledger.features.threshold.ceremonies"),
        ("ledger.features.barter.offers", "ledger.features.bank.assets"),
        ("ledger.client.calls", "ledger.features.contracts.execution"),
        ("ledger.client.calls", "consensus.node.rpc.methods"),
        ("ledger.state", "consensus.engine.engine"),
        ("vm.host", "ledger.state"),
        ("consensus.engine.engine", "consensus.node.wal"),
        ("consensus.node.node", "cli.main"),
        ("cli.features.policy.policy_commands", "cli.features.bank.tx_commands"),
    ],
)
def test_invalid_imports_are_caught(importer: str, imported: str) -> None:
    assert violation(importer, imported) is not None


@pytest.mark.parametrize(
    "importer,imported",
    [
        ("ledger", "ledger.features"),
        ("ledger.features.barter.offers", "ledger.features.bank.interface"),
        ("ledger.features.barter.offers", "ledger.features.barter.bodies"),
        ("ledger.client.calls", "ledger.features.contracts.bodies"),
        ("ledger.types", "ledger.threshold.frost"),
        ("consensus.node.node", "consensus.engine.engine"),
        ("cli.main", "ledger.client"),
    ],
)
def test_allowed_imports_pass(importer: str, imported: str) -> None:
    assert violation(importer, imported) is None
