"""The world suite at full size: how the method does on every world, worst world first.

For each world of ``training.worlds`` and each seed: the unsupervised model's macro recall
and ARI against the world's truth, its stability (share of customers a re-fit with another
seed keeps), then 1,000 reviews drawn by the review sample and answered from the truth: the
refit's macro recall and ARI, and the agreement training reports (cross-validated on the
reviews, Wilson 95 %) with whether its interval holds the true figure. The reviews come in
one round (half spread, half borderline) and, in the ``rounds_`` columns, in rounds: two of
half as many by default, or of the sizes ``--rounds`` gives (the first all spread; after
each, a training and a round all borderline among the customers not reviewed yet,
cross-fitted: each half drawn by a model taught by half of the first round; a training with
all, its agreement cross-validated by the halves). Employers: accuracy
against head count. The peer measured in the same run: a supervised ceiling (gradient
boosting given every second customer's true category). (The method this replaced,
share-matched naming, is the checkout before commit 838c611; the README quotes it.)

    .venv/bin/python bench/bench_worlds.py --size 100000 --seeds 0 1 2
    .venv/bin/python bench/bench_worlds.py --worlds life_course_86 --rounds 400 200 200 200

Case handlers who slip: ``--review-error 0.05`` answers 5 % of the reviews wrongly (another
category at random), and ``--second-opinion`` asks another case handler where a spread
review disagrees with the model, as the review page does (``segmentation.opinions``):

    .venv/bin/python bench/bench_worlds.py --seeds 0 --review-error 0.05 --second-opinion

An agency that counts contacts otherwise than the reference's (every world is calibrated to
the Finnish agency's contact levels): ``--contact-scale 3`` multiplies every customer's
contacts by three, their lives unchanged:

    .venv/bin/python bench/bench_worlds.py --seeds 0 1 --contact-scale 3 --worlds life_course

An agency whose register does not link life events: ``--blank life_events`` (any numeric
column: 0 for every customer). An extract with a few absurd rows: ``--outliers 0.002`` gives
0.2 % of customers, half each, 50-500 more letters (a mass mailing counted as contacts) or
5,000-50,000 more minutes of handling (a data error), their category unchanged.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from data_contracts.schemas import CITIZEN_NUMERIC_COLUMNS  # noqa: E402
from models.segmenter import ClusterSegmenter  # noqa: E402
from segmentation.features import build_features, numeric_matrix  # noqa: E402
from training.evaluate import ReviewWeight, agreement, choose_review_weight  # noqa: E402
from training.review import (  # noqa: E402
    SPREAD,
    draw_cross_fitted,
    draw_sample,
    drawn_at_random,
    review_halves,
)
from training.worlds import WORLDS  # noqa: E402

NAMES = ["regular", "irregular", "needs_support"]


def ceiling(raw: np.ndarray, truth: np.ndarray, seed: int) -> float:
    from sklearn.ensemble import HistGradientBoostingClassifier

    features = build_features(raw, "citizens")
    half = len(raw) // 2
    model = HistGradientBoostingClassifier(random_state=seed).fit(features[:half], truth[:half])
    return agreement(model.predict(features[half:]), truth[half:], "citizens")["truth_macro_recall"]


def answer(
    truth: np.ndarray,
    sample: pd.DataFrame,
    reviewed: np.ndarray | None = None,
    weights: np.ndarray | None = None,
    *,
    slips: Slips | None = None,
    suggested: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """The sample answered from the truth (each answer wrong as often as ``slips`` says),
    added to earlier answers: each row's reviewed category (-1: none) and design weight
    (1 / inclusion probability; NaN: none). ``suggested``: every row's category by the
    model in service (for a second opinion where a review disagrees with it)."""
    reviewed = np.full(len(truth), -1) if reviewed is None else reviewed.copy()
    weights = np.full(len(truth), np.nan) if weights is None else weights.copy()
    rows = sample["id"].to_numpy()
    reviewed[rows] = (
        truth[rows]
        if slips is None
        else slips.answers(
            truth[rows],
            None if suggested is None else suggested[rows],
            measuring=(sample["part"] == SPREAD).to_numpy(),
        )
    )
    weights[rows] = 1.0 / sample["inclusion_probability"].to_numpy()
    return reviewed, weights


@dataclass
class Slips:
    """Case handlers who are sometimes wrong: each answer, with probability ``rate``, one of
    the other categories at random instead of the true one (``--review-error``). With
    ``second_opinion``, a customer of the spread part (the reviews that estimate the
    agreement) whose review disagrees with the model in service is reviewed again by
    another case handler, and by a third where the two differ; the majority stands (the
    first where all three differ), as on the review page (``segmentation.opinions``).
    ``extra``: the reviews that took."""

    rate: float
    rng: np.random.Generator
    second_opinion: bool = False
    n_categories: int = len(NAMES)
    extra: int = 0

    def _one(self, truth: np.ndarray) -> np.ndarray:
        wrong = self.rng.random(len(truth)) < self.rate
        other = (truth + self.rng.integers(1, self.n_categories, len(truth))) % self.n_categories
        return np.where(wrong, other, truth)

    def answers(
        self,
        truth: np.ndarray,
        suggested: np.ndarray | None = None,
        measuring: np.ndarray | None = None,
    ) -> np.ndarray:
        """The answers to rows of category ``truth``; ``suggested``: the model's category of
        each; ``measuring``: which rows may get a second opinion (default: all)."""
        first = self._one(truth)
        if not self.second_opinion or suggested is None:
            return first
        open_to = np.ones(len(truth), bool) if measuring is None else measuring
        again = np.flatnonzero((first != suggested) & open_to)
        second = self._one(truth[again])
        split = again[second != first[again]]
        third = self._one(truth[split])
        self.extra += len(again) + len(split)
        # Where the second differs from the first, the third decides (with either), else the
        # first stands.
        settled = first.copy()
        decides = (third == second[second != first[again]]) | (third == first[split])
        settled[split] = np.where(decides, third, first[split])
        return settled


def train_with(
    raw: np.ndarray,
    reviewed: np.ndarray,
    weights: np.ndarray,
    seed: int,
    *,
    champion: ClusterSegmenter,
    halves: np.ndarray | None = None,
) -> tuple[ClusterSegmenter, ReviewWeight]:
    """As training does: the agreement with the reviews cross-validated (of the review
    settings' average; of each setting, and the best one taken, for a model that does not
    average), then the model fitted."""
    model = ClusterSegmenter("citizens", random_state=seed)
    chosen = choose_review_weight(
        model, raw, reviewed, weights, folds=5, seed=seed, champion=champion, halves=halves
    )
    if not chosen.blend:
        model.set_params(review_weight=chosen.weight, relabel=chosen.relabel)
    representative = drawn_at_random(reviewed, weights)
    return model.fit(raw, reviewed, champion=champion, representative=representative), chosen


def outcome(
    model: ClusterSegmenter,
    chosen: ReviewWeight,
    raw: np.ndarray,
    truth: np.ndarray,
    as_reviewed: np.ndarray | None = None,
) -> dict[str, object]:
    """The true figures of a model trained with reviews beside what training reported; with
    ``as_reviewed`` (every row's category as a case handler who slips would answer), the
    model's macro recall against those answers too, which is what the reviews measure."""
    predicted = model.predict_index(raw)
    learnt = agreement(predicted, truth, "citizens")
    reported = chosen.agreement
    true_macro = learnt["truth_macro_recall"]
    low = reported.get("review_macro_recall_low", float("nan"))
    high = reported.get("review_macro_recall_high", float("nan"))
    return {
        "reviewed_macro_recall": true_macro,
        "reviewed_ari": learnt["truth_ari"],
        "reported": reported.get("review_macro_recall", float("nan")),
        "reported_low": low,
        "reported_high": high,
        "interval_holds_truth": bool(low <= true_macro <= high),
        **(
            {}
            if as_reviewed is None
            else {
                "against_answers": (
                    against := agreement(predicted, as_reviewed, "citizens")["truth_macro_recall"]
                ),
                "interval_holds_answers": bool(low <= against <= high),
            }
        ),
        "review_weight": chosen.weight,
        "relabel": chosen.relabel,
        "blend": chosen.blend,
    }


def rounds_of_review(
    raw: np.ndarray,
    truth: np.ndarray,
    model: ClusterSegmenter,
    seed: int,
    splits: Sequence[int],
    slips: Slips | None = None,
) -> tuple[ClusterSegmenter, np.ndarray, np.ndarray, np.ndarray]:
    """Reviews in rounds of ``splits`` customers, as `review sample` draws them: the first
    all spread, from ``model``; then, after each round, a training (the champion then) and
    the next round all borderline among the customers not reviewed yet, cross-fitted (two
    models, each taught by half of the first round's spread reviews and the borderline ones
    its half drew, not named by the champion that learnt from all of them). Returns the last
    round's champion, every row's reviewed category and design weight after all rounds, and
    every row's half (-1: none) for the training."""
    rows = np.arange(len(raw))
    reviewed, weights = answer(
        truth,
        draw_sample(model, raw, rows, n=splits[0], seed=seed, part="spread"),
        slips=slips,
        suggested=model.predict_index(raw),
    )
    estimating = drawn_at_random(reviewed, weights)
    halves = np.full(len(raw), -1)
    halves[np.flatnonzero(estimating)] = review_halves(np.flatnonzero(estimating))
    champion = model
    for later, n in enumerate(splits[1:]):
        # The training after the round (what it reports is not needed to draw the next).
        champion = ClusterSegmenter("citizens", random_state=seed).fit(
            raw,
            reviewed,
            champion=champion,
            representative=drawn_at_random(reviewed, weights),
        )
        # As `review sample` does: the champion's way of weighing reviews, not its names.
        template = ClusterSegmenter(
            "citizens",
            random_state=seed,
            review_weight=champion.review_weight,
            relabel=champion.relabel,
            review_blend=champion.review_blend,
        )
        drawn = draw_cross_fitted(
            template, raw, rows, reviewed, estimating, halves, n=n, seed=seed + later
        )
        reviewed, weights = answer(
            truth, drawn, reviewed, weights, slips=slips, suggested=champion.predict_index(raw)
        )
        halves[drawn["id"].to_numpy()] = drawn["half"].to_numpy()
    return champion, reviewed, weights, halves


#: The citizens' contact columns (``--contact-scale`` multiplies them).
CONTACT_COLUMNS = ("contacts_phone", "contacts_office", "contacts_digital", "contacts_letter")


@dataclass(frozen=True)
class Lens:
    """How an agency's data may differ from a world's (the worlds are calibrated to the
    Finnish agency's contact levels and record every column): ``contact_scale``, every
    customer's contacts multiplied by it (rounded; under 1, each contact counted with that
    probability), as an agency that counts contacts otherwise would see them; ``blank``,
    columns the agency does not record (0 for everyone, as the contract allows);
    ``outliers``, the share of customers with an absurd row (half 50-500 more letters, half
    5,000-50,000 more minutes of handling). Lives and categories unchanged."""

    contact_scale: float = 1.0
    blank: tuple[str, ...] = ()
    outliers: float = 0.0

    def seen(self, frame: pd.DataFrame, seed: int) -> pd.DataFrame:
        """``frame`` (a world's citizens) as this agency's extract would hold it."""
        if self.blank:  # (``assign`` copies the whole frame even with nothing to assign)
            frame = frame.assign(**{column: frame[column].dtype.type(0) for column in self.blank})
        if self.contact_scale != 1.0:
            rng = np.random.default_rng([seed, 13])
            frame = frame.assign(
                **{
                    column: (
                        rng.binomial(frame[column].to_numpy(), self.contact_scale)
                        if self.contact_scale < 1.0
                        else np.round(frame[column].to_numpy() * self.contact_scale)
                    ).astype(frame[column].dtype)
                    for column in CONTACT_COLUMNS
                }
            )
        if self.outliers:
            rng = np.random.default_rng([seed, 17])
            who = rng.choice(len(frame), int(len(frame) * self.outliers), replace=False)
            letters, minutes = who[: len(who) // 2], who[len(who) // 2 :]
            frame = frame.copy()
            column = frame.columns.get_loc("contacts_letter")
            frame.iloc[letters, column] += rng.integers(50, 500, len(letters))
            column = frame.columns.get_loc("handling_minutes")
            frame.iloc[minutes, column] += rng.uniform(5_000, 50_000, len(minutes))
        return frame

    def record(self) -> dict[str, object]:
        """The lens in a result row."""
        return {
            "contact_scale": self.contact_scale,
            "blank": list(self.blank),
            "outliers": self.outliers,
        }


def world_citizens(
    world: str, seed: int, size: int, lens: Lens = Lens()
) -> tuple[np.ndarray, np.ndarray]:
    """A world's citizens as the contract's numeric matrix, as ``lens`` says an agency's
    extract would hold them, and their true category codes."""
    frame, truth_frame = WORLDS[world].citizens(size, seed)
    frame = lens.seen(frame, seed)
    truth = pd.Categorical(truth_frame["category"], categories=NAMES).codes.astype(np.int64)
    return numeric_matrix(frame, "citizens"), truth


@dataclass(frozen=True)
class Unsupervised:
    """A fit without reviews: the model, its categories, their agreement with the truth, the
    share a re-fit with another seed keeps, and the fit's wall time."""

    model: ClusterSegmenter
    predicted: np.ndarray
    figures: dict[str, float]
    stability: float
    fit_seconds: float


def unsupervised(
    raw: np.ndarray,
    truth: np.ndarray,
    seed: int,
    **params: Any,
) -> Unsupervised:
    """The method (with ``params``) fitted without reviews at ``seed``, and re-fitted at
    ``seed + 1000``."""
    started = time.perf_counter()
    model = ClusterSegmenter("citizens", random_state=seed, **params).fit(raw)
    fit_seconds = time.perf_counter() - started
    predicted = model.predict_index(raw)
    refit = ClusterSegmenter("citizens", random_state=seed + 1000, **params).fit(raw)
    return Unsupervised(
        model,
        predicted,
        agreement(predicted, truth, "citizens"),
        float(np.mean(refit.predict_index(raw) == predicted)),
        fit_seconds,
    )


def collect(
    run: Callable[[str, int], dict[str, object]],
    worlds: Sequence[str],
    seeds: Sequence[int],
    out: Path,
) -> list[dict[str, object]]:
    """``run`` on every world at every seed, each result printed as it comes (JSON lines) and
    all of them written to ``out``."""
    results = []
    for world in worlds:
        for seed in seeds:
            result = run(world, seed)
            results.append(result)
            print(json.dumps(result), flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    return results


def one(
    world: str,
    seed: int,
    size: int,
    reviews: int,
    splits: Sequence[int],
    *,
    review_error: float = 0.0,
    second_opinion: bool = False,
    lens: Lens = Lens(),
) -> dict[str, object]:
    raw, truth = world_citizens(world, seed, size, lens)
    fitted = unsupervised(raw, truth, seed)
    model = fitted.model
    slips = (
        Slips(review_error, np.random.default_rng([seed, 8]), second_opinion)
        if review_error
        else None
    )
    # One round: half spread, half borderline, drawn by the unsupervised model.
    reviewed, weights = answer(
        truth,
        draw_sample(model, raw, np.arange(len(raw)), n=reviews, seed=seed),
        slips=slips,
        suggested=fitted.predicted,
    )
    extra_one_round = 0 if slips is None else slips.extra
    learnt_model, chosen = train_with(raw, reviewed, weights, seed, champion=model)
    # Every customer as a case handler who slips would answer (what the reviews estimate).
    as_reviewed = None
    if slips is not None:
        as_reviewed = Slips(review_error, np.random.default_rng([seed, 9])).answers(truth)
    one_round = outcome(learnt_model, chosen, raw, truth, as_reviewed)
    # Two rounds of half as many, as `review sample` draws them.
    last_champion, reviewed, weights, halves = rounds_of_review(
        raw, truth, model, seed, splits, slips
    )
    in_rounds_model, in_rounds_chosen = train_with(
        raw, reviewed, weights, seed, champion=last_champion, halves=halves
    )
    in_rounds = outcome(in_rounds_model, in_rounds_chosen, raw, truth, as_reviewed)
    extra = (
        {}
        if slips is None
        else {
            "second_opinion": second_opinion,
            "extra_reviews": extra_one_round,
            "rounds_extra_reviews": slips.extra - extra_one_round,
        }
    )
    employers, employer_truth = WORLDS[world].employers(max(size // 10, 2_000), seed)
    employer_model = ClusterSegmenter("employers", random_state=seed).fit(
        numeric_matrix(employers, "employers")
    )
    employer_accuracy = float(
        np.mean(
            employer_model.predict(numeric_matrix(employers, "employers"))
            == employer_truth["category"].to_numpy()
        )
    )
    return {
        "world": world,
        "seed": seed,
        "review_error": review_error,
        **lens.record(),
        **extra,
        "macro_recall": fitted.figures["truth_macro_recall"],
        "ari": fitted.figures["truth_ari"],
        "stability": fitted.stability,
        **one_round,
        "rounds": "+".join(map(str, splits)),
        **{f"rounds_{key}": value for key, value in in_rounds.items()},
        "employer_accuracy": employer_accuracy,
        "ceiling": ceiling(raw, truth, seed),
        "fit_seconds": fitted.fit_seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--reviews", type=int, default=1_000)
    parser.add_argument(
        "--rounds",
        type=int,
        nargs="+",
        default=None,
        help="the rounds' sizes, the first all spread (default: two halves of --reviews)",
    )
    parser.add_argument(
        "--review-error",
        type=float,
        default=0.0,
        help="the share of answers that are wrong (another category at random); default none",
    )
    parser.add_argument(
        "--second-opinion",
        action="store_true",
        help="with --review-error: a review that disagrees with the model in service is "
        "reviewed again by another case handler (and a third where the two differ)",
    )
    parser.add_argument(
        "--contact-scale",
        type=float,
        default=1.0,
        help="every customer's contacts multiplied by this (an agency that counts contacts "
        "otherwise than the reference's); default 1",
    )
    parser.add_argument(
        "--blank",
        nargs="+",
        default=[],
        choices=CITIZEN_NUMERIC_COLUMNS,
        metavar="COLUMN",
        help="columns the agency does not record: 0 for every customer (e.g. life_events)",
    )
    parser.add_argument(
        "--outliers",
        type=float,
        default=0.0,
        help="the share of customers with an absurd row (a mass mailing's letters, or a "
        "data error's minutes of handling); default none",
    )
    parser.add_argument("--worlds", nargs="+", default=list(WORLDS))
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "worlds.json")
    parser.add_argument("--summarise", type=Path, help="Only print the table of a results file.")
    args = parser.parse_args()
    if args.summarise:
        summarise(pd.DataFrame(json.loads(args.summarise.read_text())))
        return
    warnings.filterwarnings("ignore")
    splits = args.rounds or [args.reviews // 2, args.reviews - args.reviews // 2]
    results = collect(
        lambda world, seed: one(
            world,
            seed,
            args.size,
            args.reviews,
            splits,
            review_error=args.review_error,
            second_opinion=args.second_opinion,
            lens=Lens(args.contact_scale, tuple(args.blank), args.outliers),
        ),
        args.worlds,
        args.seeds,
        args.out,
    )
    summarise(pd.DataFrame(results))


def summarise(table: pd.DataFrame) -> None:
    """The README's table: one row per world, the worst world first."""
    # Results files from before ``--rounds`` name the rounds' columns ``two_rounds_``.
    table = table.rename(columns=lambda name: name.replace("two_rounds_", "rounds_"))
    summary = (
        table.groupby("world")
        .agg(
            macro_recall_min=("macro_recall", "min"),
            macro_recall_median=("macro_recall", "median"),
            ari_min=("ari", "min"),
            stability_min=("stability", "min"),
            reviewed_min=("reviewed_macro_recall", "min"),
            reviewed_median=("reviewed_macro_recall", "median"),
            reviewed_ari_min=("reviewed_ari", "min"),
            intervals_holding=("interval_holds_truth", "sum"),
            rounds_min=("rounds_reviewed_macro_recall", "min"),
            rounds_median=("rounds_reviewed_macro_recall", "median"),
            rounds_ari_min=("rounds_reviewed_ari", "min"),
            rounds_intervals_holding=("rounds_interval_holds_truth", "sum"),
            employers_min=("employer_accuracy", "min"),
            ceiling=("ceiling", "median"),
            fit_seconds=("fit_seconds", statistics.median),
        )
        .sort_values("macro_recall_min")
    )
    print(markdown(summary.round(3)))


def markdown(frame: pd.DataFrame) -> str:
    """A pipe table for the README (without the optional tabulate package)."""
    header = [str(frame.index.name or ""), *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for index, row in frame.iterrows():
        lines.append("| " + " | ".join([str(index), *(f"{v:g}" for v in row)]) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
