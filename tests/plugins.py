"""Install plugins for tests through real entry-point metadata, the way pip lays them out."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def install_module_plugin(site: Path, monkeypatch: pytest.MonkeyPatch, name: str, module: str, source: str) -> None:
    """A module plus the dist-info that announces it under the fedfleet.governance group."""
    site.mkdir(parents=True, exist_ok=True)
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    dist = site / f"{module}-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[fedfleet.governance]\n{name} = {module}\n")
    monkeypatch.syspath_prepend(str(site))


def pip_install_example(target: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A real pip install of examples/fedfleet-registries into a target directory.

    Built from a scratch copy: setuptools writes build/ and *.egg-info beside the sources.
    """
    source = target.parent / f"{target.name}-src"
    shutil.copytree(REPO / "examples" / "fedfleet-registries", source)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, capture_output=True, text=True,
    )
    monkeypatch.syspath_prepend(str(target))
