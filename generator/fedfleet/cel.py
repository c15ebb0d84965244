"""OCM's CEL cluster selector (Placement v1beta1 `requiredClusterSelector.celSelector`), offline.

OCM compiles each expression in an environment of (open-cluster-management-io/ocm, commit
00f84c32, pkg/placement/helpers/cel.go, NewEnv):
- the variable `managedCluster`: the ManagedCluster as unstructured JSON, map(string, dyn)
  (sdk-go pkg/cel/library/managedcluster.go, CompileOptions);
- `managedCluster.scores(name)`: the AddOnPlacementScore `name` of the cluster as a list of
  {name, value} (managedcluster.go, clusterScores); an error when there is none;
- `parseJSON(string)` (sdk-go pkg/cel/library/json.go);
- BaseEnvOpts (sdk-go pkg/cel/common/values.go): Kubernetes' CEL libraries, among them
  Quantity (k8s.io/apiserver pkg/cel/library/quantity.go) and SemverLib (semverlib.go).
A cluster matches when every expression evaluates to true; a compile error, an evaluation error
or a non-bool result means no match (cel.go, evaluateAllExpressions and isResultValid).

The runtime is Google's C++ CEL through `cel-expr-python`, picked in bench/cel_selectors.py
(10,000 ManagedClusters, 2 cores): 12 us per evaluation of a labels+claims expression and 48 us
with a Python custom function, against 60/79 us for the Rust bindings
(common-expression-language) and ~1,900 us for pure-Python cel-python; it also type-checks at
compile time as cel-go does, so `invalid.expression` is a compile error here as on the hub.
It has no opaque custom types, so a Quantity or Semver is carried as a tagged map
{"@type": ..., ...}; the member functions dispatch on the tag and refuse anything else.
What is not modelled: OCM's cost budget (a pathological expression the hub stops is evaluated
here), and the rarely used ext libraries (regex, urls, ip, cidr, format, lists).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

_Q = "k8s.io/Quantity"
_S = "k8s.io/Semver"

# k8s.io/apimachinery pkg/api/resource/quantity.go (ParseQuantity): a signed decimal number,
# then a binary suffix, a decimal SI suffix or a decimal exponent.
_QUANTITY = re.compile(r"^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$")
_BINARY = {"Ki": 10, "Mi": 20, "Gi": 30, "Ti": 40, "Pi": 50, "Ei": 60}
_DECIMAL = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
# semver 2.0.0 as blang/semver/v4 Parse accepts it (no leading zeros in numeric identifiers)
_SEMVER = re.compile(r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)"
                     r"(?:-((?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*)(?:\.(?:0|[1-9][0-9]*|[0-9]*[A-Za-z-][0-9A-Za-z-]*))*))?"
                     r"(?:\+([0-9A-Za-z-]+(?:\.[0-9A-Za-z-]+)*))?$")


class CelUnavailable(RuntimeError):
    pass


def parse_quantity(text: str) -> Fraction:
    """The exact value of a Kubernetes quantity; ValueError when it is not one."""
    m = _QUANTITY.match(text.strip()) if isinstance(text, str) else None
    if not m or text != text.strip():
        raise ValueError(f"quantities must match the regular expression: {text!r}")
    sign, number, suffix = m.group(1), m.group(2), m.group(3) or ""
    value = Fraction(number)
    if suffix in _BINARY:
        value *= 2 ** _BINARY[suffix]
    elif suffix in _DECIMAL:
        value *= Fraction(10) ** _DECIMAL[suffix]
    else:
        value *= Fraction(10) ** int(suffix[1:])
    return -value if sign == "-" else value


def _quantity(text: str) -> dict[str, Any]:
    value = parse_quantity(text)
    return {"@type": _Q, "n": value.numerator, "d": value.denominator}


def _qvalue(q: Any) -> Fraction:
    if not isinstance(q, Mapping) or q.get("@type") != _Q:
        raise ValueError("no such overload: not a quantity")
    return Fraction(int(q["n"]), int(q["d"]))


def _from_fraction(value: Fraction) -> dict[str, Any]:
    return {"@type": _Q, "n": value.numerator, "d": value.denominator}


def _semver_parse(text: str) -> tuple[int, int, int, str]:
    """semverlib.go stringToSemver: blang/semver's strict Parse."""
    m = _SEMVER.match(text)
    if not m:
        raise ValueError(f"Invalid Semver: {text!r}")
    return int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4) or ""


def _semver(text: str) -> dict[str, Any]:
    major, minor, patch, pre = _semver_parse(text)
    return {"@type": _S, "major": major, "minor": minor, "patch": patch, "pre": pre}


def _prerelease_key(pre: str) -> tuple[Any, ...]:
    # semver 2.0.0 section 11: a version without pre-release ranks higher; numeric identifiers
    # rank below alphanumeric ones and compare numerically.
    if not pre:
        return (1,)
    return (0, *((0, int(p), "") if p.isdigit() else (1, 0, p) for p in pre.split(".")))


def _compare(a: Any, b: Any) -> int:
    """compareTo of two quantities or two semvers (quantity.go quantityCompareTo; semverlib.go
    semverCompareTo): -1, 0 or 1."""
    if isinstance(a, Mapping) and a.get("@type") == _S:
        if not isinstance(b, Mapping) or b.get("@type") != _S:
            raise ValueError("no such overload: compareTo(Semver, ...)")
        ka = (a["major"], a["minor"], a["patch"], _prerelease_key(a["pre"]))
        kb = (b["major"], b["minor"], b["patch"], _prerelease_key(b["pre"]))
    else:
        ka, kb = _qvalue(a), _qvalue(b)  # type: ignore[assignment]
    return (ka > kb) - (ka < kb)


def _as_integer(q: Any) -> int:
    v = _qvalue(q)
    if v.denominator != 1 or not -(2**63) <= v.numerator < 2**63:
        raise ValueError("cannot convert value to integer")  # quantity.go quantityGetValue
    return v.numerator


def _scores_error(_cluster: Any, name: str) -> list[Any]:
    raise ValueError(f"failed to get score: addonplacementscore {name!r} not found")


@dataclass(frozen=True)
class CompiledSelector:
    expressions: tuple[str, ...]
    programs: tuple[Any, ...]

    def failure(self, managed_cluster: Mapping[str, Any],
                scores: Mapping[str, Sequence[Mapping[str, Any]]] | None = None) -> str | None:
        """None when every expression is true (cel.go, evaluateAllExpressions), else why not."""
        data = {"managedCluster": managed_cluster}
        _SCORES[0] = scores or {}
        for expression, program in zip(self.expressions, self.programs):
            value = program.eval(data=data)
            kind = value.type().name().lower()
            if kind == "bool" and value.value() is True:
                continue
            if kind == "bool":
                return f"CEL expression is false: {expression}"
            if kind == "error":
                return f"CEL expression fails ({_short(str(value.value()))}): {expression}"
            return f"CEL expression gives {kind}, not bool: {expression}"
        return None


def _short(message: str) -> str:
    return message.split(" [", 1)[0].strip()


# The AddOnPlacementScores of the cluster being evaluated (name -> items): set by failure()
# before each evaluation, read by scores(); evaluation is single-threaded.
_SCORES: list[Mapping[str, Sequence[Mapping[str, Any]]]] = [{}]


def _scores(cluster: Any, name: str) -> list[Any]:
    scores = _SCORES[0]
    if name not in scores:
        return _scores_error(cluster, name)
    return [{"name": s["name"], "value": int(s["value"])} for s in scores[name]]


_ENV: Any = None


def _env() -> Any:
    """One environment for the process: the declarations of OCM's (see the module docstring)."""
    global _ENV
    if _ENV is not None:
        return _ENV
    try:
        from cel_expr_python import cel as ce
        from cel_expr_python.ext import ext_strings
    except ImportError as exc:  # pragma: no cover - a dependency of the base install
        raise CelUnavailable("celSelector needs the cel-expr-python package") from exc
    T = ce.Type
    M, S, B, I, D = T.Map(T.STRING, T.DYN), T.STRING, T.BOOL, T.INT, T.DOUBLE

    def fn(name: str, *overloads: tuple[str, Any, list[Any], bool, Callable[..., Any]]) -> Any:
        return ce.FunctionDecl(name, [ce.Overload(oid, ret, params, is_member=member, impl=impl)
                                      for oid, ret, params, member, impl in overloads])

    def checked(test: Callable[[], Any]) -> bool:
        try:
            test()
            return True
        except ValueError:
            return False

    functions = [
        # quantity.go, quantityLibraryDecls
        fn("quantity", ("string_to_quantity", M, [S], False, _quantity)),
        fn("isQuantity", ("is_quantity_string", B, [S], False, lambda s: checked(lambda: parse_quantity(s)))),
        fn("sign", ("quantity_sign", I, [M], True, lambda q: (_qvalue(q) > 0) - (_qvalue(q) < 0))),
        fn("asApproximateFloat", ("quantity_get_float", D, [M], True, lambda q: float(_qvalue(q)))),
        fn("asInteger", ("quantity_get_int", I, [M], True, _as_integer)),
        fn("isInteger", ("quantity_is_integer", B, [M], True, lambda q: checked(lambda: _as_integer(q)))),
        fn("add", ("quantity_add", M, [M, M], True, lambda a, b: _from_fraction(_qvalue(a) + _qvalue(b))),
           ("quantity_add_int", M, [M, I], True, lambda a, b: _from_fraction(_qvalue(a) + b))),
        fn("sub", ("quantity_sub", M, [M, M], True, lambda a, b: _from_fraction(_qvalue(a) - _qvalue(b))),
           ("quantity_sub_int", M, [M, I], True, lambda a, b: _from_fraction(_qvalue(a) - b))),
        # shared by quantity.go and semverlib.go (both types are maps here: one overload each)
        fn("isGreaterThan", ("cmp_is_greater_than", B, [M, M], True, lambda a, b: _compare(a, b) > 0)),
        fn("isLessThan", ("cmp_is_less_than", B, [M, M], True, lambda a, b: _compare(a, b) < 0)),
        fn("compareTo", ("cmp_compare_to", I, [M, M], True, _compare)),
        # semverlib.go, declarations. OCM's BaseEnvOpts calls SemverLib() without SemverVersion(1),
        # so the normalize overloads semver(string, bool) and isSemver(string, bool) are absent:
        # on the hub they are a compile error (found by the tools/ocm-placement conformance case).
        fn("semver", ("string_to_semver", M, [S], False, _semver)),
        fn("isSemver", ("is_semver_string", B, [S], False, lambda s: checked(lambda: _semver_parse(s)))),
        fn("major", ("semver_major", I, [M], True, lambda v: _semver_field(v, "major"))),
        fn("minor", ("semver_minor", I, [M], True, lambda v: _semver_field(v, "minor"))),
        fn("patch", ("semver_patch", I, [M], True, lambda v: _semver_field(v, "patch"))),
        # sdk-go json.go, parseJSON
        fn("parseJSON", ("parse_json_string", T.DYN, [S], False, json.loads)),
        # managedcluster.go, clusterScores: the scores of the cluster being evaluated
        fn("scores", ("cluster_scores", T.List(T.DYN), [M, S], True, _scores)),
    ]
    _ENV = ce.NewEnv(variables={"managedCluster": M}, functions=functions, extensions=[ext_strings.ExtStrings()])
    return _ENV


def _semver_field(v: Any, name: str) -> int:
    if not isinstance(v, Mapping) or v.get("@type") != _S:
        raise ValueError(f"no such overload: {name}")
    return int(v[name])


def compile_selector(expressions: Sequence[str]) -> tuple[CompiledSelector | None, list[tuple[int, str]]]:
    """The compiled selector, or the (index, message) of every expression that does not compile
    (OCM: the Placement is Misconfigured and selects nothing)."""
    env = _env()
    programs, errors = [], []
    for i, expression in enumerate(expressions):
        try:
            programs.append(env.compile(expression))
        except RuntimeError as exc:
            errors.append((i, _compile_message(str(exc))))
    if errors:
        return None, errors
    return CompiledSelector(tuple(expressions), tuple(programs)), []


def _compile_message(message: str) -> str:
    # "INVALID_ARGUMENT: ERROR: <input>:1:8: undeclared reference to 'x' (in container '')\n | x ..."
    first = message.splitlines()[0]
    first = first.removeprefix("INVALID_ARGUMENT: ").removeprefix("ERROR: ")
    return re.sub(r"^<input>:(\d+):(\d+): ", r"column \2: ", first).removesuffix(" [INVALID_ARGUMENT]")
