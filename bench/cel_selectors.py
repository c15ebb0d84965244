"""CEL runtimes for OCM's celSelector: time per evaluation of a ManagedCluster expression.

Evaluates two of OCM's expression shapes over N synthetic ManagedClusters with every candidate
runtime that is installed (fedfleet depends on cel-expr-python only; install the others into the
same environment to compare: `pip install common-expression-language cel-python`):
  labels+claims: managedCluster.metadata.labels["env"] == "prod" && clusterClaims.exists(...)
  custom fn:     managedCluster.scores("demo").filter(...).all(...) (a host-language function)
Then fedfleet's own path (fedfleet.cel: quantity comparison with the OCM environment).
Run: python bench/cel_selectors.py [--clusters N]
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Callable

LABELS = ('managedCluster.metadata.labels["env"] == "prod" && '
          'managedCluster.status.clusterClaims.exists(c, c.name == "cloud" && c.value == "Amazon")')
SCORES = 'managedCluster.scores("demo").filter(s, s.name == "demo").all(e, e.value > 80)'
MEMORY = 'quantity(managedCluster.status.allocatable.memory).compareTo(quantity("96Gi")) >= 0'


def clusters(n: int) -> list[dict[str, Any]]:
    return [{"metadata": {"name": f"c{i}", "labels": {"env": "prod" if i % 2 else "dev"}},
             "status": {"allocatable": {"memory": f"{64 + i % 128}Gi"},
                        "clusterClaims": [{"name": "cloud", "value": "Amazon" if i % 3 else "Azure"}]}}
            for i in range(n)]


def timed(name: str, items: list[dict[str, Any]], evaluate: Callable[[dict[str, Any]], Any]) -> None:
    t0 = time.perf_counter()
    hits = sum(1 for mc in items if evaluate(mc) is True)
    us = (time.perf_counter() - t0) / len(items) * 1e6
    print(f"  {name:<46} {us:9.1f} us/eval  ({hits} of {len(items)} match)")


def scores_of(_cluster: Any, _name: Any) -> list[dict[str, Any]]:
    return [{"name": "demo", "value": 90}]


def cel_expr_python(items: list[dict[str, Any]]) -> None:
    from cel_expr_python import cel as ce

    T = ce.Type
    fd = ce.FunctionDecl("scores", [ce.Overload("cluster_scores", T.List(T.DYN), [T.Map(T.STRING, T.DYN), T.STRING],
                                                is_member=True, impl=scores_of)])
    env = ce.NewEnv(variables={"managedCluster": T.Map(T.STRING, T.DYN)}, functions=[fd])
    for label, expr in (("labels+claims", LABELS), ("custom fn", SCORES)):
        program = env.compile(expr)
        timed(f"cel-expr-python (C++), {label}", items,
              lambda mc: program.eval(data={"managedCluster": mc}).value())


def common_expression_language(items: list[dict[str, Any]]) -> None:
    import cel

    for label, expr in (("labels+claims", LABELS), ("custom fn", SCORES)):
        program = cel.compile(expr)

        def run(mc: dict[str, Any]) -> Any:
            ctx = cel.Context()
            ctx.add_variable("managedCluster", mc)
            ctx.add_function("scores", scores_of)
            return program.execute(ctx)

        timed(f"common-expression-language (Rust), {label}", items, run)


def cel_python(items: list[dict[str, Any]]) -> None:
    import celpy

    env = celpy.Environment()
    for label, expr in (("labels+claims", LABELS), ("custom fn", SCORES)):
        program = env.program(env.compile(expr), functions={"scores": lambda c, n: celpy.json_to_cel(scores_of(c, n))})
        timed(f"cel-python (pure Python), {label}", items[: max(1, len(items) // 20)],
              lambda mc: bool(program.evaluate({"managedCluster": celpy.json_to_cel(mc)})))


def fedfleet_cel(items: list[dict[str, Any]]) -> None:
    from fedfleet.cel import compile_selector

    selector, _ = compile_selector([MEMORY])
    assert selector is not None
    timed("fedfleet.cel (OCM env), quantity compare", items, lambda mc: selector.failure(mc) is None)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=10_000)
    items = clusters(parser.parse_args().clusters)
    print(f"{len(items)} ManagedClusters (cel-python on a 1/20 sample: it is slow)")
    for run in (cel_expr_python, common_expression_language, cel_python, fedfleet_cel):
        try:
            run(items)
        except ImportError as exc:
            print(f"  {run.__name__}: not installed ({exc.name})")


if __name__ == "__main__":
    main()
