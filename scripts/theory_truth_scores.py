"""Rule theory_truth_scores: the estimated data-side parameters against the synthetic world's."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.files import read_json
from featurelab.theory.compare import score_against_truth, synthetic_truth

with logged(snakemake.log[0]):
    truth = synthetic_truth(read_json(snakemake.input.world), pd.read_parquet(snakemake.input.truth))
    scores = score_against_truth(read_json(snakemake.input.estimates), truth)
    scores.to_csv(snakemake.output[0], index=False)
    log(scores.to_string(index=False))
