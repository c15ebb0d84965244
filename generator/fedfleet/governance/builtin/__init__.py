"""The built-in governance plugins. Each module only implements hooks; see ../hookspecs.py."""

from __future__ import annotations

from importlib.resources import files


def rego_module(name: str) -> dict[str, str]:
    """The Rego twin shipped beside a built-in plugin (builtin/rego/<name>.rego and its tests)."""
    folder = files(__package__) / "rego"
    out = {f"{name}.rego": (folder / f"{name}.rego").read_text(encoding="utf-8")}
    test = folder / f"{name}_test.rego"
    if test.is_file():
        out[f"{name}_test.rego"] = test.read_text(encoding="utf-8")
    return out
