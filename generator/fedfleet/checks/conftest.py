"""conftest compatibility: `package main` in policies/ runs with conftest's semantics.

A conftest user's policies are written for conftest's input: ONE configuration document at a time
(`kustomize build overlays/hub-prod | conftest test -` evaluates each YAML document of the stream on
its own), not fedfleet's `{fleet, jobs, plan, objects, parameters}`. So `package main` is evaluated
the way conftest evaluates it, read from open-policy-agent/conftest at 6a3fd606
(`policy/engine.go`, `Engine.check` and `Engine.query`; `output/result.go` `NewResult`):

- the namespace is `main` (conftest's default `--namespace`); the input is each object kustomize
  builds for every overlay and bootstrap directory, one at a time (what Argo CD applies), and
  `data.conftest.file` is `{"name": <directory>, "dir": <directory>}` (conftest's addFileInfo);
- rules named `^(deny|violation)(_[a-zA-Z0-9]+)*$` are failures (errors, exit 1) and
  `^warn(_[a-zA-Z0-9]+)*$` warnings (engine.go failureRegex, warningRegex); other rules are helpers;
- a result is a string (the message) or an object with a string `msg` (its other keys are
  metadata); an object without one is an error, as conftest's NewResult refuses it;
- exceptions: when `data.main.exception[_][_]` holds a rule's name without its `deny_`/
  `violation_`/`warn_` prefix ("" for the plain names), that rule's results for this input are
  exceptions, not findings (engine.go removeRulePrefix and the exception query);
- `deny if { ... }` (a boolean, no `contains`) is refused, as conftest refuses it
  (engine.go problematicIf, OPA issue 6509): it would yield `true`, not messages.

Rego v1, as conftest's default `--rego-version v1`. Differences, on purpose: a module in another
package that defines deny/warn rules is reported as not evaluated (conftest queries only the
namespaces it is given, `--namespace`/`--all-namespaces`); `--combine` (all documents as one input)
has no equivalent; `main` is evaluated in-process by regorus even when `--opa-url` names an OPA
server. Each finding is located at the kustomize directory and names the object.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from ..findings import Finding, InputError, Location, Severity, Subject
from .rego import EmbeddedEngine, HubObject, RegoModule, _clean_error, package_of

NAMESPACE = "main"
UNDEFINED = "<undefined>"  # what regorus's eval_rule_as_json gives for a rule with no value
FAILURE = re.compile(r"^(deny|violation)(_[a-zA-Z0-9]+)*$")
WARNING = re.compile(r"^warn(_[a-zA-Z0-9]+)*$")


@dataclass
class ConftestResult:
    findings: list[Finding] = field(default_factory=list)
    rules: list[str] = field(default_factory=list)  # the deny/violation/warn rules of package main
    objects: int = 0
    exceptions: int = 0


@dataclass(frozen=True)
class _Rule:
    name: str
    module: str
    line: int
    boolean: bool = False  # `deny if { ... }`: no `contains`, no value


def _rules(ast_json: str) -> tuple[list[_Rule], list[_Rule]]:
    """(rules of package main, deny/warn-named rules of other non-fedfleet packages), from regorus's
    parsed modules: the rule heads as the parser sees them, not a text scan."""
    main: list[_Rule] = []
    other: list[_Rule] = []
    for module in json.loads(ast_json):
        name = module["source"]["file"]
        package = package_of(module["source"]["contents"]) or ""
        for rule in module["ast"].get("rules", []):
            head_name, line = _head(rule)
            if not head_name or not (FAILURE.match(head_name) or WARNING.match(head_name)):
                continue
            if package == NAMESPACE:
                head = rule.get("Spec", {}).get("head", {})
                boolean = "Compr" in head and head["Compr"].get("assign") is None
                main.append(_Rule(head_name, name, line, boolean))
            elif not package.startswith("fedfleet.") and not package.endswith("_test"):
                other.append(_Rule(f"{package}.{head_name}", name, line))
    return main, other


def _head(rule: dict[str, Any]) -> tuple[str, int]:
    """The rule's name and line; "" for a rule whose head is a longer reference (`deny.x contains`):
    conftest matches `Head.Name`, which such a rule does not have, so it never queries it."""
    if "Spec" in rule:
        head = next(iter(rule["Spec"]["head"].values()))
        refr, line = head.get("refr", {}), rule["Spec"]["span"]["line"]
    elif "Default" in rule:
        refr, line = rule["Default"].get("refr", {}), rule["Default"]["span"]["line"]
    else:
        return "", 0
    return str(refr.get("Var", {}).get("value", "")), int(line)


def _strip_prefix(rule: str) -> str:
    """conftest's removeRulePrefix: the name an exception lists ("" for deny, violation, warn)."""
    if rule in ("deny", "violation", "warn"):
        return ""
    for prefix in ("violation_", "deny_", "warn_"):
        rule = rule.removeprefix(prefix)
    return rule


def has_main(modules: Iterable[RegoModule]) -> bool:
    return any(package_of(m.source) == NAMESPACE for m in modules if not m.name.endswith("_test.rego"))


def evaluate(modules: Sequence[RegoModule], objects: Sequence[HubObject]) -> ConftestResult:
    """Every deny/violation/warn rule of package main over every built object, one at a time."""
    mods = [m for m in modules if not m.name.endswith("_test.rego")]
    engine = EmbeddedEngine()
    engine.load(mods)
    raw = engine._engine  # regorus.Engine: per-object input and data
    main_rules, others = _rules(raw.get_ast_as_json())
    result = ConftestResult(objects=len(objects))
    for r in others:
        result.findings.append(Finding(
            "conftest", f"package {r.name.rsplit('.', 1)[0]} defines {r.name.rsplit('.', 1)[1]} but is not evaluated: "
            "fedfleet evaluates packages under `fedfleet.` over its own input and package `main` with conftest's "
            "semantics (conftest itself queries only `main` unless given --namespace); move the rule to one of them",
            Severity.WARNING, Location(r.module, r.line)))
    boolean = [Finding("conftest", f"`{r.name} if {{ ... }}` yields true, not messages: write `{r.name} contains msg if "
                       "{ ... }` (conftest refuses the boolean form, engine.go problematicIf, OPA issue 6509)",
                       Severity.ERROR, Location(r.module, r.line)) for r in main_rules if r.boolean]
    if boolean:
        raise InputError(boolean)
    names = sorted({r.name for r in main_rules})
    result.rules = names
    if not names:
        return result
    problems: list[Finding] = []
    by_root: dict[str, list[HubObject]] = {}
    for o in objects:
        by_root.setdefault(o.path.removesuffix("/(built)"), []).append(o)
    for root, hub_objects in sorted(by_root.items()):
        raw.clear_data()
        raw.add_data_json(json.dumps({"conftest": {"file": {"name": root, "dir": root}}}))
        for o in hub_objects:
            raw.set_input_json(json.dumps(o.object, separators=(",", ":"), check_circular=False))
            exceptions = _value(raw, "exception")
            excepted = {str(item) for entry in (exceptions if isinstance(exceptions, list) else [])
                        if isinstance(entry, list) for item in entry}
            for rule in names:
                values = _value(raw, rule)
                if values is None or values == [] or values == UNDEFINED:
                    continue
                if not isinstance(values, list):
                    line = next(r.line for r in main_rules if r.name == rule)
                    module = next(r.module for r in main_rules if r.name == rule)
                    problems.append(Finding(
                        "conftest", f"data.main.{rule} is {json.dumps(values)}, not a set of messages: write "
                        f"`{rule} contains msg if {{ ... }}` (conftest refuses `{rule} if`, OPA issue 6509)",
                        Severity.ERROR, Location(module, line)))
                    continue
                if _strip_prefix(rule) in excepted:
                    result.exceptions += len(values)
                    continue
                severity = Severity.ERROR if FAILURE.match(rule) else Severity.WARNING
                for value in values:
                    result.findings.append(_finding(rule, value, severity, root, o))
    if problems:
        raise InputError(sorted(set(problems), key=lambda f: (str(f.location), f.message)))
    return result


def _value(raw: Any, rule: str) -> Any:
    """The rule's value for the current input, or None when package main does not define it."""
    try:
        return json.loads(raw.eval_rule_as_json(f"data.{NAMESPACE}.{rule}"))
    except RuntimeError as exc:
        text = _clean_error(exc)
        if "not a valid rule path" in text:
            return None
        raise InputError([Finding("conftest", f"evaluating data.{NAMESPACE}.{rule} failed: {text}")]) from None


def _finding(rule: str, value: Any, severity: Severity, root: str, o: HubObject) -> Finding:
    meta = (o.object.get("metadata") or {}) if isinstance(o.object, dict) else {}
    subject = Subject(str(o.object.get("kind", "")), str(meta.get("name", "")), str(meta.get("namespace", "")), hub=o.hub)
    if isinstance(value, str):
        message = value
    elif isinstance(value, dict) and isinstance(value.get("msg"), str):
        message = value["msg"]
    else:
        # conftest output/result.go NewResult: `"msg" field must be present and a string`
        return Finding(f"conftest:{rule}", f"a result of data.main.{rule} has no string `msg` (conftest refuses it): "
                       f"{json.dumps(value)[:200]}", Severity.ERROR, Location(root), "", subject)
    return Finding(f"conftest:{rule}", message, severity, Location(root), "", subject)
