"""Rule interaction_ground_truth: the tensor's features against the synthetic world's motifs."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import json

import pandas as pd

from featurelab.figures import save
from featurelab.files import read_json, write_json
from featurelab.interaction import Tensor, confidence, features_per_point
from featurelab.interaction.findings import ground_truth_recovery

with logged(snakemake.log[0]):
    t = Tensor(Path(snakemake.input.tensor).parent)
    world = read_json(snakemake.input.world)
    summary, fig, df = ground_truth_recovery(
        pd.read_parquet(snakemake.input.truth), features_per_point(t.triplets, t.N),
        confidence(t.predictions, t.labels), t.triplets, t.T, world["t_d"] + world["t_r"], world["t_d"])
    save(fig, df, snakemake.output.figure, snakemake.output.table)
    write_json(snakemake.output.summary, summary)
    log(json.dumps(summary, indent=1, default=str))
