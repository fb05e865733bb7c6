"""How often the reported agreement's interval holds the true figure when the whole
cross-validation is run again: the fold variance's share of the interval.

``bench_coverage.py`` keeps one trained model and redraws the spread reviews, which tests the
design's part of the interval (Wilson at the design's degrees of freedom) but not the part
the folds add: ``training.evaluate.with_fold_variance`` widens the intervals to Nadeau
and Bengio's corrected variance of the folds' own figures. This script draws one round of
1,000 reviews (``review sample --n 1000``: half spread, half borderline) again and again from
the same unsupervised model, answers them from the world's truth, and for each draw runs
training's cross-validation and fits the model with those reviews, as ``train --reviews``
does. The true figure is that model's macro recall against the truth; each rule's interval
is judged against it:

- ``shipped``: the interval training reports (the folds' half-width at the normal quantile);
- ``student``: the folds' half-width at Student's t with k - 1 degrees of freedom (2.78 for
  five folds), as Nadeau and Bengio's test has it;
- ``pooled``: the Wilson interval of the pooled reviews alone (no fold variance).

Each category's recall interval is judged against that category's true recall
(``per_category``): ``shipped``, widened by the folds' own figures for that category as the
macro interval is (since the twenty-fifth session), and ``pooled``, Wilson's at the design's
degrees of freedom alone (the rule before).

Training's own rules give every interval: the reported one (``shipped``), and
``with_fold_variance`` called again at t(k - 1) on the pooled figures and the folds' that the
cross-validation handed it (``student``; ``pooled`` is what it was handed). Draws run in two
processes (one native thread each).

    .venv/bin/python bench/bench_cv_coverage.py --world latent_need_clear --seed 1 --draws 200

``--outliers 0.02``: the world with 2 % of customers given an absurd row, as
``bench_worlds.py --outliers`` does. ``--rounds 500 500``: each draw is the whole review in
rounds instead (``bench_worlds.rounds_of_review``: the first all spread, a training, the
next all borderline and cross-fitted), trained with every round as `train --reviews` does.
"""

from __future__ import annotations

import argparse
import json
import sys
import warnings
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import t as student_t
from threadpoolctl import threadpool_limits

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_worlds import (  # noqa: E402
    NAMES,
    Lens,
    answer,
    rounds_of_review,
    train_with,
    world_citizens,
)

import training.evaluate as evaluate  # noqa: E402
from models.segmenter import ClusterSegmenter  # noqa: E402
from training.evaluate import agreement  # noqa: E402
from training.review import draw_from_scores, sample_scores  # noqa: E402

RULES = ("shipped", "student", "pooled")


_STATE: dict[str, Any] = {}


def _setup(world: str, seed: int, size: int, lens: Lens, rounds: list[int]) -> None:
    """Each worker's world (as ``lens`` sees it), truth and unsupervised model; ``rounds``: the
    rounds' sizes (empty: one round of 1,000, drawn from the model's strata and margins,
    scored once here)."""
    warnings.filterwarnings("ignore")
    threadpool_limits(limits=1)
    raw, truth = world_citizens(world, seed, size, lens)
    model = ClusterSegmenter("citizens", random_state=seed).fit(raw)
    _STATE.update(raw=raw, truth=truth, model=model, seed=seed, rounds=rounds)
    if not rounds:  # one round: every draw comes from the same strata and margins
        strata, margin = sample_scores(model, raw)
        _STATE.update(strata=strata, margin=margin)


def _draw(draw: int) -> dict[str, Any]:
    """One draw of 1,000 reviews (or of the rounds, each drawn as `review sample` draws it,
    with the trainings between them at this draw's seed): the cross-validation, the model,
    each rule's interval."""
    raw, truth = _STATE["raw"], _STATE["truth"]
    champion, halves = _STATE["model"], None
    if _STATE["rounds"]:
        champion, reviewed, weights, halves = rounds_of_review(
            raw, truth, champion, 10_000 + draw, _STATE["rounds"]
        )
    else:
        sample = draw_from_scores(
            _STATE["strata"], _STATE["margin"], np.arange(len(raw)), n=1_000, seed=10_000 + draw
        )
        reviewed, weights = answer(truth, sample)
    seen: dict[str, Any] = {}
    shipped_rule = evaluate.with_fold_variance

    def spy(pooled: dict[str, float], per_fold: list[dict[str, float]], **kw: Any) -> Any:
        seen["pooled"], seen["per_fold"] = pooled, per_fold
        return shipped_rule(pooled, per_fold, **kw)

    evaluate.with_fold_variance = spy  # type: ignore[assignment]
    try:
        model, chosen = train_with(
            raw, reviewed, weights, _STATE["seed"], champion=champion, halves=halves
        )
    finally:
        evaluate.with_fold_variance = shipped_rule  # type: ignore[assignment]
    learnt = agreement(model.predict_index(raw), truth, "citizens")
    pooled, per_fold = seen["pooled"], seen["per_fold"]
    # The peer: training's own rule with the folds' half-width at t(k - 1) instead.
    folds = sum("review_macro_recall" in f for f in per_fold)
    student = shipped_rule(pooled, per_fold, z=float(student_t.ppf(0.975, max(folds - 1, 1))))
    rules = {"shipped": chosen.agreement, "student": student, "pooled": pooled}

    def interval(rule: str, key: str) -> tuple[float, float]:
        return rules[rule][f"{key}_low"], rules[rule][f"{key}_high"]

    categories = {
        name: {
            "true": learnt[f"truth_recall_{name}"],
            "shipped": interval("shipped", f"review_recall_{name}"),
            "pooled": interval("pooled", f"review_recall_{name}"),
        }
        for name in NAMES
        if f"review_recall_{name}" in pooled
    }
    return {
        "draw": draw,
        "true": learnt["truth_macro_recall"],
        "estimate": pooled["review_macro_recall"],
        **{rule: interval(rule, "review_macro_recall") for rule in RULES},
        "categories": categories,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--world", required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--draws", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument(
        "--outliers",
        type=float,
        default=0.0,
        help="the share of customers with an absurd row (bench_worlds.py --outliers)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        nargs="+",
        default=[],
        help="reviews in rounds of these sizes, the first all spread, as bench_worlds.py "
        "draws them (default: one round of 1,000, half spread, half borderline)",
    )
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    rounds = "_rounds_" + "_".join(map(str, args.rounds)) if args.rounds else ""
    out = args.out or (
        ROOT / "bench" / "results" / f"cv_coverage_{args.world}_{args.seed}{rounds}.json"
    )
    with ProcessPoolExecutor(
        args.workers,
        initializer=_setup,
        initargs=(args.world, args.seed, args.size, Lens(outliers=args.outliers), args.rounds),
    ) as pool:
        draws = []
        for result in pool.map(_draw, range(args.draws)):
            draws.append(result)
            print(json.dumps(result), flush=True)
    true = np.array([d["true"] for d in draws])
    summary: dict[str, Any] = {
        "world": args.world,
        "seed": args.seed,
        "size": args.size,
        "outliers": args.outliers,
        "rounds": args.rounds,
        "draws": args.draws,
        "true_macro_recall_mean": float(true.mean()),
        "true_macro_recall_sd": float(true.std(ddof=1)) if len(true) > 1 else 0.0,
    }
    for rule in RULES:
        low = np.array([d[rule][0] for d in draws])
        high = np.array([d[rule][1] for d in draws])
        summary[rule] = {
            "held": float(np.mean((low <= true) & (true <= high))),
            "above_truth": float(np.mean(low > true)),
            "below_truth": float(np.mean(high < true)),
            "mean_width": float(np.mean(high - low)),
        }
    summary["per_category"] = {}
    for name in NAMES:
        figures = [d["categories"][name] for d in draws if name in d["categories"]]
        summary["per_category"][name] = {
            rule: {
                "held": float(np.mean([f[rule][0] <= f["true"] <= f[rule][1] for f in figures])),
                "below_truth": float(np.mean([f[rule][1] < f["true"] for f in figures])),
                "mean_width": float(np.mean([f[rule][1] - f[rule][0] for f in figures])),
            }
            for rule in ("shipped", "pooled")
        }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"summary": summary, "draws": draws}, indent=1))
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
