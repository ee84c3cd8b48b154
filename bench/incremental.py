"""Incremental nights: training time against the night's new data (``python -m recsys_bench.incremental``).

On a generated shop (``--preset``, medium by default) the served blend is fitted in full on
the history up to ``--full-days`` before the end, as a full night would, and saved as the
champion's artifact.  Then :func:`recsys.training.train.incremental_night` (what a night
between full refits runs) warm-starts it on 1, 3, 7 and 14 days of new data; each is timed,
with its parts: reading the frames into training data (proportional to the history, the
same for every night) and the warm start itself (proportional to the new pairs).  A full
refit of the same data is timed beside them.  Prints a markdown table and writes
``bench/results/incremental-<preset>.json``.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import tempfile
import time
from pathlib import Path

import pandas as pd

from recsys.platform.settings import get_settings
from recsys.training import artifacts
from recsys.training.blend import BlendSettings
from recsys.training.matrix import build_training_data
from recsys.training.split import full_history
from recsys.training.train import (
    ServedChoice,
    in_sample_auc,
    incremental_night,
    run_parameters,
    served_blend,
)
from recsys.training.weighting import load_weighting

from .quality import RESULTS_DIR, generated_frames

NEW_DAYS = (1, 3, 7, 14)


def _upto(frames, day: pd.Timestamp):
    return dataclasses.replace(frames, interactions=frames.interactions[frames.interactions["timestamp"] < day])


def measure(preset: str, seed: int, epochs: int, full_days: int) -> dict:
    settings = get_settings()
    config = settings.training.model_copy(update={"full_refit_days": full_days + 1, "deterministic": False})
    weighting = load_weighting()
    params = run_parameters(config, settings.evaluation, weighting)
    frames = generated_frames(preset, seed)
    end = frames.interactions["timestamp"].max().normalize() + pd.Timedelta(days=1)
    full_day = end - pd.Timedelta(days=full_days)
    choice = ServedChoice(
        epochs, BlendSettings(pop_weight=1.0, pop_days=14, knn_weight=1.0), {"ease": {"regularisation": 500.0}}
    )

    def full_fit(day: pd.Timestamp):
        history = _upto(frames, day)
        split = full_history(history.interactions)
        data = build_training_data(dataclasses.replace(history, interactions=split.train), split.cutoff, weighting)
        return served_blend(config, data, choice)

    started = time.perf_counter()
    champion = full_fit(full_day)
    full_seconds = time.perf_counter() - started
    data_end = champion.data.pairs["last_ts"].max().date()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        logical = (full_day - pd.Timedelta(days=1)).date()
        production = {
            "fit": "production",
            "data_end": str(data_end),
            "full_refit_date": str(logical),
            "full_fit_auc": in_sample_auc(champion.lightfm),
        }
        config_json = params | {"choice": choice.to_json(), "fit": "production", "production": production}
        artifacts.save_model(Path(folder), champion, config_json, {})
        row = {"run_id": "full-night", "logical_date": logical, "artifact_path": folder}
        for days in NEW_DAYS:
            night = full_day + pd.Timedelta(days=days)
            started = time.perf_counter()
            fit = incremental_night(
                _upto(frames, night), row, (night - pd.Timedelta(days=1)).date(), config, params, weighting
            )
            seconds = time.perf_counter() - started
            if fit is None:
                raise RuntimeError(f"the warm start after {days} days failed its check; see the log")
            started = time.perf_counter()
            full_history_rows = len(_upto(frames, night).interactions)
            build_training_data(_upto(frames, night), night, weighting)
            build_seconds = time.perf_counter() - started
            rows.append(
                {
                    "new_days": days,
                    "new_pairs": fit.new_interactions,
                    "history_rows": full_history_rows,
                    "incremental_seconds": round(seconds, 2),
                    "of_which_build_data": round(build_seconds, 2),
                    "warm_part": round(seconds - build_seconds, 2),
                    "check": fit.check,
                }
            )
            logging.info("%s", rows[-1])
    return {
        "preset": preset,
        "seed": seed,
        "epochs_of_the_full_fit": epochs,
        "warm_epochs": config.warm_epochs,
        "full_fit_seconds": round(full_seconds, 2),
        "nights": rows,
        "load_average": os.getloadavg()[0],
    }


def markdown(result: dict) -> str:
    lines = [
        "| new days | new pairs | incremental night s | of which building the training data s | warm start s |",
        "|---:|---:|---:|---:|---:|",
    ]
    for row in result["nights"]:
        lines.append(
            f"| {row['new_days']} | {row['new_pairs']:,} | {row['incremental_seconds']:.1f} | "
            f"{row['of_which_build_data']:.1f} | {row['warm_part']:.1f} |"
        )
    lines.append(
        f"\nFull fit of the served blend ({result['epochs_of_the_full_fit']} epochs) on the history: "
        f"{result['full_fit_seconds']:.1f} s; warm starts run {result['warm_epochs']} epochs over the new pairs."
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="medium")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--full-days", type=int, default=14, help="days between the full fit and the data's end")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    result = measure(args.preset, args.seed, args.epochs, args.full_days)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"incremental-{args.preset}.json").write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(markdown(result))


if __name__ == "__main__":
    main()
