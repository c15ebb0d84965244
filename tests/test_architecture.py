"""The import directions of ARCHITECTURE.md, enforced: every import points down the layers.

The layers are read from ARCHITECTURE.md itself (its `layers` block), so the page and the test
cannot disagree. Imports are read with `ast` from the source files, including imports inside
functions, relative and absolute alike; nothing is imported or executed.
"""

from __future__ import annotations

import ast
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "generator" / "fedfleet"
BUILTIN_PLUGINS = ("governance", "builtin")
# What a governance plugin may import from fedfleet: the public plugin API and the upstream names.
PLUGIN_API = {"fedfleet.governance", "fedfleet.upstream"}


def read_layers(architecture: Path = REPO / "ARCHITECTURE.md") -> list[set[str]]:
    """The `layers` block, top layer first: one line per layer, units separated by commas."""
    block = re.search(r"^```layers\n(.*?)^```", architecture.read_text(encoding="utf-8"), re.DOTALL | re.MULTILINE)
    assert block, f"{architecture} has no ```layers block"
    return [{u.strip() for u in line.split("#")[0].split(",") if u.strip()}
            for line in block.group(1).splitlines() if line.split("#")[0].strip()]


@dataclass(frozen=True)
class Import:
    file: str  # relative to the package's parent
    line: int
    module: str  # the module or package imported, absolute (fedfleet....)
    source: str  # the importing module, absolute


def _module_name(path: Path, root: Path) -> tuple[str, list[str]]:
    """The module's dotted name and the package its relative imports start from."""
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
        return ".".join(parts), parts
    return ".".join(parts), parts[:-1]


def imports_of(root: Path) -> list[Import]:
    """Every import of the package at `root` that names the package itself."""
    top = root.name
    found: list[Import] = []
    for path in sorted(root.rglob("*.py")):
        source, package = _module_name(path, root)
        rel = path.relative_to(root.parent).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), rel)):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = ".".join(package[: len(package) - node.level + 1])
                    stem = f"{base}.{node.module}" if node.module else base
                else:
                    stem = node.module or ""
                # `from pkg import name`: name may be a submodule; count it as one when it is.
                targets = [f"{stem}.{a.name}" if _is_module(root, f"{stem}.{a.name}") else stem for a in node.names]
            found += [Import(rel, node.lineno, t, source) for t in targets if t == top or t.startswith(top + ".")]
    return found


def _is_module(root: Path, dotted: str) -> bool:
    path = root.parent.joinpath(*dotted.split("."))
    return path.is_dir() or path.with_suffix(".py").is_file()


def unit_of(module: str) -> str:
    """The unit a layer lists: a subpackage or top-level module of fedfleet, or `fedfleet` itself."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def upward_imports(root: Path, layers: list[set[str]]) -> list[str]:
    """Imports of a unit from the same or a higher layer (a unit may always import itself)."""
    rank = {unit: i for i, layer in enumerate(reversed(layers)) for unit in layer}
    out = []
    for imp in imports_of(root):
        src, dst = unit_of(imp.source), unit_of(imp.module)
        if src != dst and rank.get(dst, 10**6) >= rank.get(src, -1):
            out.append(f"{imp.file}:{imp.line}: {src} imports {dst} ({imp.module}), which is not below it")
    return out


def units(root: Path) -> set[str]:
    return {unit_of(_module_name(p, root)[0]) for p in root.rglob("*.py")}


def plugin_imports_outside_api(root: Path) -> list[str]:
    """Imports of the built-in plugins that reach past the public plugin API."""
    builtin = ".".join((root.name, *BUILTIN_PLUGINS))
    return [f"{imp.file}:{imp.line}: {imp.module}" for imp in imports_of(root)
            if imp.source.startswith(builtin + ".") and imp.module not in PLUGIN_API
            and not (imp.module == builtin or imp.module.startswith(builtin + "."))]


# --- the real package ---------------------------------------------------------------------------

def test_every_import_points_down_the_layers() -> None:
    assert upward_imports(PACKAGE, read_layers()) == []


def test_every_unit_has_a_layer() -> None:
    placed = set().union(*read_layers())
    assert units(PACKAGE) - placed == set(), "add the new package or module to ARCHITECTURE.md's layers"
    assert placed - units(PACKAGE) == set(), "ARCHITECTURE.md lists a unit that no longer exists"


def test_built_in_plugins_import_only_the_public_plugin_api() -> None:
    assert plugin_imports_outside_api(PACKAGE) == []
    assert imports_of(PACKAGE / "governance" / "builtin"), "the check sees the plugins' imports"


# --- the checker itself: an upward import must fail -------------------------------------------

@pytest.fixture
def package_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "fedfleet"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


@pytest.mark.parametrize("module, line, culprit", [
    # relative, at module level: the plan would depend on render again
    ("placement.py", "from .render.jobs import federated_learning\n", "placement imports render"),
    # relative, two levels, inside a function (ast.walk sees lazy imports too)
    ("spec/model.py", "def _late():\n    from ..checks import rego\n", "spec imports checks"),
    # absolute
    ("render/common.py", "import fedfleet.governance.wrap\n", "render imports governance"),
    # `from package import module`
    ("write.py", "from . import pipeline\n", "write imports pipeline"),
    # the same layer is not below either
    ("audit/model.py", "from ..simulate import run\n", "audit imports simulate"),
])
def test_an_added_upward_import_fails(package_copy: Path, module: str, line: str, culprit: str) -> None:
    target = package_copy / module
    target.write_text(target.read_text(encoding="utf-8") + "\n" + line, encoding="utf-8")
    found = upward_imports(package_copy, read_layers())
    assert len(found) == 1 and culprit in found[0] and found[0].startswith(f"fedfleet/{module}:")


def test_a_plugin_reaching_into_render_fails(package_copy: Path) -> None:
    target = package_copy / "governance" / "builtin" / "tls.py"
    target.write_text(target.read_text(encoding="utf-8") + "\nfrom ...render.common import meta\n", encoding="utf-8")
    [found] = plugin_imports_outside_api(package_copy)
    assert found.startswith("fedfleet/governance/builtin/tls.py:") and found.endswith("fedfleet.render.common")


def test_a_synthetic_package(tmp_path: Path) -> None:
    root = tmp_path / "fedfleet"
    (root / "low").mkdir(parents=True)
    (root / "__init__.py").write_text("")
    (root / "low" / "__init__.py").write_text("from ..high import x\n")  # upward
    (root / "high.py").write_text("from .low import y\nimport os\n")  # downward, and not ours
    layers = [{"high"}, {"low"}, {"fedfleet"}]
    assert upward_imports(root, layers) == ["fedfleet/low/__init__.py:1: low imports high (fedfleet.high), which is not below it"]
    assert units(root) == {"fedfleet", "low", "high"}


def test_the_layers_block_is_read_top_first(tmp_path: Path) -> None:
    page = tmp_path / "A.md"
    page.write_text("x\n```layers\ncli   # the edge\nreport, audit\n\nfindings\n```\n", encoding="utf-8")
    assert read_layers(page) == [{"cli"}, {"report", "audit"}, {"findings"}]
