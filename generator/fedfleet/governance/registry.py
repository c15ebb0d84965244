"""Plugin discovery and calls: every plugin through the `fedfleet.governance` entry points.

Built-ins are registered the same way as third-party plugins (pyproject.toml lists them), so the
core has no special path for its own plugins. Each hook implementation is called on its own so a
failure is reported against the plugin that raised it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Callable, Iterable, Mapping, get_args

import pluggy

from ..findings import Finding, InputError
from ..upstream import COMPLIANCE_TYPES, DNS1123_LABEL, POLICY_SEVERITIES, REMEDIATION_ACTIONS
from . import hookspecs
from .types import Concern, GovernanceContext, PolicyContent, TargetKind, Template

ENTRY_POINT_GROUP = "fedfleet.governance"
_DNS_LABEL = re.compile(DNS1123_LABEL)
_TARGETS = set(get_args(TargetKind))


def _plugin_error(plugin: str, message: str) -> InputError:
    return InputError([Finding("governance", f"plugin {plugin!r}: {message}")])


@dataclass(frozen=True)
class Plugin:
    name: str
    concern: Concern


class Registry:
    def __init__(self, pm: pluggy.PluginManager) -> None:
        self.pm = pm
        self.plugins: dict[str, Plugin] = {}
        for name, concern in self._call_each("fedfleet_concern").items():
            if not isinstance(concern, Concern):
                raise _plugin_error(name, f"fedfleet_concern returned {type(concern).__name__}, not a Concern")
            if not _DNS_LABEL.match(concern.name) or concern.severity not in POLICY_SEVERITIES:
                raise _plugin_error(name, f"invalid concern name {concern.name!r} or severity {concern.severity!r}")
            if not concern.controls or not concern.standards or not concern.categories:
                raise _plugin_error(name, "a concern needs standards, categories and controls for the ACM dashboard")
            self.plugins[name] = Plugin(name, concern)

    def _call_each(self, hook: str, only: Iterable[str] | None = None,
                   kwargs_for: Callable[[str], dict[str, Any]] | None = None, **kwargs: Any) -> dict[str, Any]:
        """Call one hook on every plugin (or those in `only`) separately, in name order, with
        `kwargs` or each plugin's own `kwargs_for(name)`; a raising plugin is named, not a traceback."""
        wanted = None if only is None else set(only)
        results: dict[str, Any] = {}
        caller: Any = getattr(self.pm.hook, hook)
        # pluggy records the name each plugin was registered under: its entry-point name.
        for impl in sorted(caller.get_hookimpls(), key=lambda i: i.plugin_name):
            name = impl.plugin_name
            if wanted is not None and name not in wanted:
                continue
            given = kwargs_for(name) if kwargs_for else kwargs
            try:
                results[name] = impl.function(**{k: v for k, v in given.items() if k in impl.argnames})
            except InputError:
                raise
            except Exception as exc:  # a plugin's bug must surface as its own, clearly
                raise _plugin_error(name, f"{hook} raised {type(exc).__name__}: {exc}") from None
        return results

    def parameter_schemas(self) -> dict[str, dict[str, Any]]:
        fragments = self._call_each("fedfleet_parameters_schema")
        out: dict[str, dict[str, Any]] = {}
        for name in self.plugins:
            props = dict(fragments.get(name) or {})
            if not isinstance(props, dict):
                raise _plugin_error(name, "fedfleet_parameters_schema must return a mapping of properties")
            props.update({
                "enabled": {"type": "boolean"},
                "remediation": {"enum": list(REMEDIATION_ACTIONS)},
                "overrides": {"type": "object", "additionalProperties": {
                    "type": "object", "additionalProperties": False,
                    "properties": {"remediation": {"enum": list(REMEDIATION_ACTIONS)}, "disabled": {"type": "boolean"}}}},
            })
            out[name] = {"type": "object", "additionalProperties": False, "properties": props}
        return out

    def enabled(self, params: Mapping[str, Any]) -> list[str]:
        return [n for n in self.plugins if params.get(n, {}).get("enabled", True)]

    def policies(self, context_for: Callable[[str], GovernanceContext], params: Mapping[str, Any]) -> dict[str, list[PolicyContent]]:
        enabled = self.enabled(params)
        results = self._call_each("fedfleet_policies", only=enabled, kwargs_for=lambda name: {"context": context_for(name)})
        return {name: _checked_policies(name, results[name]) if name in results else [] for name in enabled}

    def job_annotations(self, job: Any, params: Mapping[str, Any]) -> dict[str, str]:
        """Annotations from every enabled plugin, each called with its own parameters."""
        merged: dict[str, str] = {}
        results = self._call_each("fedfleet_job_annotations", only=self.enabled(params),
                                  kwargs_for=lambda name: {"job": job, "params": params.get(name, {})})
        for name, result in results.items():
            if not isinstance(result, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in result.items()):
                raise _plugin_error(name, "fedfleet_job_annotations must return a mapping of strings")
            clash = set(result) & set(merged)
            if clash:
                raise _plugin_error(name, f"annotation(s) {sorted(clash)} already set by another plugin")
            merged.update(result)
        return merged

    def rego_modules(self) -> dict[str, dict[str, str]]:
        out: dict[str, dict[str, str]] = {}
        for name, modules in self._call_each("fedfleet_rego_modules").items():
            if not isinstance(modules, Mapping) or not all(isinstance(v, str) for v in modules.values()):
                raise _plugin_error(name, "fedfleet_rego_modules must return file name -> Rego source")
            out[name] = dict(modules)
        return out


# Where ACM cannot enforce, read from the controllers. Config-policy-controller at ecf24b40:
# controllers/configurationpolicy_controller.go.
_UNNAMED = ("an object template without a name is only ever evaluated as inform "
            "(config-policy-controller configurationpolicy_controller.go handleObjects: "
            "\"we do not support enforce on unnamed templates\")")
_STATUS = ("a status can only be observed: enforcing creates the object without it and only checks the status "
           "afterwards (config-policy-controller configurationpolicy_controller.go handleSingleObj)")
_CERT = ("a CertificatePolicy only reports (cert-policy-controller controllers/certificatepolicy_controller.go "
         "ProcessPolicies: \"Enforce is set, but not implemented on this controller\")")


def observe_only(templates: Iterable[Template]) -> str:
    """Why ACM could not enforce these templates, or '' when it can."""
    for t in templates:
        if t.kind == "CertificatePolicy":
            return _CERT
        for o in t.spec.get("object-templates") or []:
            definition = o.get("objectDefinition") or {}
            if not (definition.get("metadata") or {}).get("name"):
                return _UNNAMED
            if "status" in definition and o.get("complianceType") != "mustnothave":
                return _STATUS
    return ""


def _checked_policies(plugin: str, result: Any) -> list[PolicyContent]:
    if not isinstance(result, list):
        raise _plugin_error(plugin, f"fedfleet_policies returned {type(result).__name__}, not a list")
    for p in result:
        if not isinstance(p, PolicyContent):
            raise _plugin_error(plugin, f"fedfleet_policies returned a {type(p).__name__}, not a PolicyContent")
        if not _DNS_LABEL.match(p.name):
            raise _plugin_error(plugin, f"policy name {p.name!r} is not a DNS-1123 label")
        if p.target.kind not in _TARGETS:
            raise _plugin_error(plugin, f"policy {p.name!r}: unknown target {p.target.kind!r}")
        if p.severity is not None and p.severity not in POLICY_SEVERITIES:
            raise _plugin_error(plugin, f"policy {p.name!r}: unknown severity {p.severity!r}")
        if not p.templates:
            raise _plugin_error(plugin, f"policy {p.name!r} has no templates")
        reason = observe_only(p.templates)
        if reason and p.remediation != "inform":
            raise _plugin_error(plugin, f"policy {p.name!r} can only inform ({reason}) but does not force remediation "
                                "'inform': enforcing it would not do what it says")
        for t in p.templates:
            if not isinstance(t, Template) or t.kind not in ("ConfigurationPolicy", "CertificatePolicy"):
                raise _plugin_error(plugin, f"policy {p.name!r}: templates must be ConfigurationPolicy or CertificatePolicy")
            if t.kind == "ConfigurationPolicy":
                objs = t.spec.get("object-templates")
                if objs is None and "object-templates-raw" not in t.spec:
                    raise _plugin_error(plugin, f"policy {p.name!r}: a ConfigurationPolicy needs object-templates")
                for o in objs or []:
                    if o.get("complianceType") not in COMPLIANCE_TYPES or not isinstance(o.get("objectDefinition"), dict):
                        raise _plugin_error(plugin, f"policy {p.name!r}: object-template needs complianceType "
                                            f"musthave|mustonlyhave|mustnothave and an objectDefinition")
    names = [p.name for p in result]
    dup = {n for n in names if names.count(n) > 1}
    if dup:
        raise _plugin_error(plugin, f"duplicate policy names {sorted(dup)}")
    return result


def load_registry(extra: Mapping[str, Any] | None = None) -> Registry:
    """Discover plugins from the entry-point group (plus `extra` name -> plugin, for tests)."""
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    candidates: list[tuple[str, Any]] = []
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        try:
            candidates.append((ep.name, ep.load()))
        except Exception as exc:
            raise _plugin_error(ep.name, f"cannot be loaded from {ep.value}: {type(exc).__name__}: {exc}") from None
    candidates += list((extra or {}).items())
    for name, plugin in candidates:
        if pm.has_plugin(name):
            raise _plugin_error(name, "two plugins share this name")
        try:
            pm.register(plugin, name=name)
        except Exception as exc:  # pluggy validates hook signatures here
            raise _plugin_error(name, f"does not fit the hook specifications: {exc}") from None
    return Registry(pm)
