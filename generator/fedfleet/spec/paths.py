"""Paths a spec names, kept inside the repository (the spec directory's parent).

A spec is reviewed in a pull request; a path in it that leaves the repository (`../../etc`, an
absolute path, a symlink out) would make fedfleet read or run what no reviewer saw.
"""

from __future__ import annotations

from pathlib import Path


def repo_root(spec_dir: str | Path) -> Path:
    return Path(spec_dir).resolve().parent


def inside_repo(spec_dir: str | Path, relative: str) -> Path | None:
    """`relative` resolved (symlinks too) against the repository root, or None if it leaves it."""
    root = repo_root(spec_dir)
    if Path(relative).is_absolute():
        return None
    path = (root / relative).resolve()
    return path if path.is_relative_to(root) else None
