"""Benchmarks of the pure gates: decision latency on each Rego engine, and fairness vs fairlearn.

    uv run python bench/gates_pure.py                 # 2,000 decisions, 1,000,000 rows, 5 runs
    uv run python bench/gates_pure.py --rows 100000 --decisions 500 --runs 3

Decision latency: the built-in bundle evaluated in-process through ``steward.policy.evaluate`` (input
validation, input digest and the engine call), the compiled policy prepared once and reused; the
documents alternate between one that passes every rule and one that breaks several. Fairness: the
same group metrics (selection rate, TPR, FPR and counts per group, ratios and differences across
groups) from ``steward.checks.fairness_values`` and from fairlearn's ``MetricFrame``, with a check
that the values agree. Both are timed the same way: one untimed warm-up run, then ``--runs`` timed
runs each, reported as median and best, and the ratio of the medians (and of the bests). Prints
figures; asserts nothing about time.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

from steward.checks import RATE_METRICS, fairness_values
from steward.policy import ENGINE_NAMES, PolicyBundle, builtin_bundle, create_engine, evaluate

FIXTURE = "data.steward.tests.fixtures.doc"
T = TypeVar("T")


def documents(bundle: PolicyBundle) -> list[dict[str, Any]]:
    """The Rego tests' passing document, and a copy that breaks several rules."""
    engine = create_engine("regorus")
    passing = engine.evaluate(bundle.all_modules, bundle.data, {}, FIXTURE).value
    failing = copy.deepcopy(passing)
    failing["version"]["metrics"]["accuracy"] = 0.72
    failing["model"]["limitations"] = ""
    failing["lineage"]["datasets"][0]["approved"] = False
    failing["checks"][0]["values"]["attributes"]["sex"]["metrics"]["selection_rate"]["ratio"] = 0.61
    failing["incidents"] = [{"severity": "high", "state": "open"}]
    return [passing, failing]


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_decisions(count: int) -> None:
    bundle = builtin_bundle()
    docs = documents(bundle)
    print(f"decision latency, built-in bundle {bundle.name} {bundle.version} ({bundle.digest[:19]}…)")
    print(f"  {'engine':<22} {'first':>9} {'p50':>9} {'p95':>9} {'p99':>9}   denies (pass/fail doc)")
    for name in ENGINE_NAMES:
        engine = create_engine(name)
        start = time.perf_counter()
        evaluate(bundle, docs[0], engine)  # compiles and caches the prepared policy
        first = time.perf_counter() - start
        samples = []
        for index in range(count):
            doc = docs[index % 2]
            start = time.perf_counter()
            evaluate(bundle, doc, engine)
            samples.append(time.perf_counter() - start)
        denies = [len(evaluate(bundle, doc, engine).denies) for doc in docs]
        label = f"{engine.name} {engine.version}"
        print(
            f"  {label:<22} {first * 1e3:>7.2f}ms {percentile(samples, 0.5) * 1e3:>7.3f}ms "
            f"{percentile(samples, 0.95) * 1e3:>7.3f}ms {percentile(samples, 0.99) * 1e3:>7.3f}ms"
            f"   {denies[0]}/{denies[1]}"
        )


def planted(rows: int) -> tuple[np.ndarray[Any, Any], np.ndarray[Any, Any], np.ndarray[Any, Any]]:
    """Four groups; the model selects group-d far less often at equal labels."""
    rng = np.random.default_rng(7)
    groups = rng.choice(np.array(["group-a", "group-b", "group-c", "group-d"]), size=rows)
    labels = (rng.random(rows) < 0.4).astype(np.int64)
    score = rng.random(rows) + 0.35 * labels - 0.25 * (groups == "group-d")
    return labels, (score > 0.7).astype(np.int64), groups


def timed(run: Callable[[], T], runs: int) -> tuple[T, list[float]]:
    """``run``'s result from one untimed warm-up call, and the times of ``runs`` more calls."""
    result = run()
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        samples.append(time.perf_counter() - start)
    return result, samples


def bench_fairness(rows: int, runs: int) -> None:
    from fairlearn.metrics import (  # type: ignore[import-untyped]
        MetricFrame,
        count,
        false_positive_rate,
        selection_rate,
        true_positive_rate,
    )

    labels, predictions, groups = planted(rows)

    def steward_run() -> dict[str, Any]:
        attributes: dict[str, Any] = fairness_values(labels, predictions, {"group": groups})["attributes"]
        group: dict[str, Any] = attributes["group"]
        return group

    def fairlearn_run() -> tuple[Any, Any, Any]:
        frame = MetricFrame(
            metrics={
                "selection_rate": selection_rate,
                "true_positive_rate": true_positive_rate,
                "false_positive_rate": false_positive_rate,
                "count": count,
            },
            y_true=labels,
            y_pred=predictions,
            sensitive_features=groups,
        )
        return frame, frame.ratio(), frame.difference()

    ours, ours_times = timed(steward_run, runs)
    (frame, ratios, differences), theirs_times = timed(fairlearn_run, runs)

    deltas = []
    for group, row in frame.by_group.iterrows():
        mine = ours["groups"][str(group)]
        deltas.append(abs(mine["count"] - row["count"]))
        deltas += [abs(mine[metric] - row[metric]) for metric in RATE_METRICS]
    for metric in RATE_METRICS:
        deltas.append(abs(ours["metrics"][metric]["ratio"] - ratios[metric]))
        deltas.append(abs(ours["metrics"][metric]["difference"] - differences[metric]))
    print(f"fairness, {rows:,} rows, {len(ours['groups'])} groups (selection rate, TPR, FPR, counts)")
    print(f"  each timed {runs} times after one warm-up run")
    print(f"  {'':<28} {'median':>10} {'best':>10}")
    for label, samples in (
        ("steward.checks", ours_times),
        ("fairlearn MetricFrame", theirs_times),
    ):
        print(f"  {label:<28} {statistics.median(samples) * 1e3:>8.1f}ms {min(samples) * 1e3:>8.1f}ms")
    by_median = statistics.median(theirs_times) / statistics.median(ours_times)
    by_best = min(theirs_times) / min(ours_times)
    print(f"  {'fairlearn / steward':<28} {by_median:>9,.0f}x {by_best:>9,.0f}x")
    verdict = "yes" if max(deltas) <= 1e-9 else "NO"
    print(f"  values match     {verdict} (max abs difference {max(deltas):.1e}, tolerance 1e-9)")
    selection = ours["metrics"]["selection_rate"]
    lowest, ratio = selection["min_group"], selection["ratio"]
    print(f"  planted disparity: selection-rate ratio {ratio:.4f}, lowest in {lowest}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs of each fairness computation")
    args = parser.parse_args()
    bench_decisions(args.decisions)
    print()
    bench_fairness(args.rows, args.runs)


if __name__ == "__main__":
    main()
