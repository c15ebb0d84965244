"""The optional installs: which verb needs which extra, and the one-line hint when it is missing.

The base install (`pip install fedfleet`) runs every verb that reads only the repository. Two
extras of pyproject.toml carry the heavy dependencies:
- `simulate`: Flower's server stack, scikit-learn (and with it scipy), numpy, SQLAlchemy,
  cryptography, for `fedfleet simulate`;
- `live`: the clients of live servers, the Kubernetes client (`doctor`, `inventory pull|diff`,
  `audit --kubeconfig`) and OPA's REST client (`check --opa-url`), plus ruamel.yaml for the
  round-trip edits of `inventory pull`.
The check runs before any work, so nothing is half done when an extra is missing.
"""

from __future__ import annotations

import argparse
import importlib.util

# Each extra's import name -> the distribution that provides it. tests/test_slim_install.py
# checks that these distributions are exactly the extra's requirements in pyproject.toml.
EXTRAS: dict[str, dict[str, str]] = {
    "simulate": {"flwr": "flwr", "sqlalchemy": "SQLAlchemy", "numpy": "numpy", "sklearn": "scikit-learn",
                 "cryptography": "cryptography"},
    "live": {"kubernetes": "kubernetes", "ruamel.yaml": "ruamel.yaml", "opa_client": "opa-python-client"},
}


def needed(args: argparse.Namespace) -> tuple[str, str] | None:
    """(extra, what needs it) for a parsed command line, or None when the base install runs it."""
    verb = args.verb
    if verb == "simulate":
        return "simulate", "fedfleet simulate"
    if verb == "doctor":
        return "live", "fedfleet doctor"
    if verb == "inventory":
        return "live", f"fedfleet inventory {args.inventory_verb}"
    if verb == "audit" and args.kubeconfig:
        return "live", "fedfleet audit --kubeconfig"
    if verb == "check" and args.opa_url:
        return "live", "fedfleet check --opa-url"
    return None


def _present(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # a parent package missing (ruamel for ruamel.yaml), or an import hook refusing it
        return False


def missing(extra: str) -> list[str]:
    """The import names of `extra` this interpreter cannot import, without importing them."""
    return [m for m in EXTRAS[extra] if not _present(m)]


def extra_of(module: str) -> str | None:
    """The extra that provides an import name (its top-level package), if any."""
    for extra, modules in EXTRAS.items():
        if any(module == m or module.startswith(m + ".") or m.startswith(module + ".") for m in modules):
            return extra
    return None


def hint(extra: str, what: str) -> str:
    # Both spellings: a source checkout (this repository, a fleet repository made from it) has no
    # `fedfleet` on an index to resolve, and an index install has no `.` to point at.
    return (f"{what} needs the {extra} extra: pip install -e '.[{extra}]' in a checkout "
            f"(pip install 'fedfleet[{extra}]' from an index)")
