"""The embedded Rego engine (Microsoft's regorus, Rego v1, in-process), apart from checks/rego.py so
that check's Rego process (checks/regoproc.py) imports only this, orjson and regorus: it starts
beside the render and waits for its input, and what it imports is CPU the render shares the cores
with (checks/rego.py pulls in the plan, the render and the spec model: 0.15 s)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..findings import Finding, InputError, Location


@dataclass(frozen=True)
class RegoModule:
    name: str  # file name, e.g. "tls.rego"
    source: str
    origin: str  # "plugin <name>" or the file's path


def _clean_error(exc: Exception) -> str:
    # regorus appends a Rust backtrace to its messages; keep the part a policy author can use.
    return str(exc).split("Stack backtrace:")[0].strip()


_RULES = ("deny", "warn")


class EmbeddedEngine:
    """regorus in-process, Rego v1."""

    name = "embedded (regorus)"

    def __init__(self, coverage: bool = False) -> None:
        import regorus

        self._engine = regorus.Engine()
        self._engine.set_rego_v0(False)
        if coverage:
            self._engine.set_enable_coverage(True)

    def load(self, modules: list[RegoModule]) -> list[str]:
        for m in modules:
            try:
                self._engine.add_policy(m.name, m.source)
            except RuntimeError as exc:
                text = _clean_error(exc)
                at = re.search(r"--> [^\n]*?:(\d+):(\d+)", text)
                raise InputError([Finding("rego", f"cannot load Rego module ({m.origin}): {text} (modules are Rego v1, "
                                          "as in OPA 1.0 and conftest's default --rego-version v1: "
                                          "`deny contains msg if { ... }`)",
                                          location=Location(m.name, int(at.group(1)), int(at.group(2))) if at
                                          else Location(m.name))]) from None
        return sorted(p.removeprefix("data.") for p in self._engine.get_packages())

    def rule(self, path: str) -> Any:
        return json.loads(self._engine.eval_rule_as_json(path))

    def coverage(self) -> dict[str, Any]:
        return json.loads(self._engine.get_coverage_report_as_json())

    def evaluate(self, modules: list[RegoModule], data_input: dict[str, Any]) -> dict[str, dict[str, list[Any]]]:
        from .rego import input_json

        return self.evaluate_json(modules, input_json(data_input))

    def evaluate_json(self, modules: list[RegoModule], input_text: str) -> dict[str, dict[str, list[Any]]]:
        """evaluate, with the input already as JSON text (what the result cache keys on)."""
        packages = self.load(modules)
        self._engine.set_input_json(input_text)
        return self._ask(packages)

    def evaluate_file(self, modules: list[RegoModule], input_path: Path) -> dict[str, dict[str, list[Any]]]:
        """evaluate_json with the text in a file: regorus reads it itself (no Python copy of it)."""
        packages = self.load(modules)
        self._engine.set_input_from_json_file(str(input_path))
        return self._ask(packages)

    def _ask(self, packages: list[str]) -> dict[str, dict[str, list[Any]]]:
        """package -> {"deny": [...], "warn": [...]} for every package under `fedfleet.`.

        One query for all of them: regorus evaluates each complete rule once per query, so the
        indexes the packages share (data.fedfleet_lib.objects) are built once, not once per rule
        asked. Only deny and warn: querying whole packages would also serialise every helper rule
        back to JSON. A rule that is not defined gives [] as before (the comprehension is empty),
        and so does one that is not a set. Should the query fail, each rule is asked on its own,
        as before, so the error names the rule."""
        asked = [pkg for pkg in packages if pkg.startswith("fedfleet.") and not pkg.endswith("_test")]
        # One line per rule: regorus limits the length of a line of a query.
        query = "[\n" + ",\n".join(f"[x | x := data.{pkg}.{name}]" for pkg in asked for name in _RULES) + "\n]"
        try:
            value = orjson.loads(self._engine.eval_query_as_json(query))
            answers = value["result"][0]["expressions"][0]["value"]
        except (RuntimeError, KeyError, IndexError, TypeError):
            return {pkg: {name: self._set_rule(pkg, name) for name in _RULES} for pkg in asked}
        out: dict[str, dict[str, list[Any]]] = {}
        for n, pkg in enumerate(asked):
            out[pkg] = {}
            for k, name in enumerate(_RULES):
                found = answers[n * len(_RULES) + k]
                out[pkg][name] = list(found[0]) if found and isinstance(found[0], list) else []
        return out

    def _set_rule(self, pkg: str, name: str) -> list[Any]:
        try:
            value = orjson.loads(self._engine.eval_query_as_json(f"data.{pkg}.{name}"))
        except RuntimeError as exc:
            raise InputError([Finding("rego", f"evaluating data.{pkg}.{name} failed: {_clean_error(exc)}")]) from None
        try:
            found = value["result"][0]["expressions"][0]["value"]
        except (KeyError, IndexError, TypeError):
            return []  # the package defines no such rule
        return list(found) if isinstance(found, list) else []
