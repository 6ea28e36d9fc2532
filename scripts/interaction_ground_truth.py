"""Rule interaction_ground_truth: the tensor's features against the synthetic world's motifs."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import pandas as pd

    from featurelab import interaction as I
    from featurelab import interaction_figures as F
    from featurelab.interaction_study import Tensor

    t = Tensor(Path(snakemake.input.tensor).parent)
    world = json.loads(Path(snakemake.input.world).read_text())
    truth = pd.read_parquet(snakemake.input.truth)
    summary, fig, df = F.ground_truth_recovery(
        truth, I.features_per_point(t.triplets, t.N), I.confidence(t.predictions, t.labels),
        t.triplets, t.T, world["t_d"] + world["t_r"], world["t_d"])
    F.save(fig, df, snakemake.output.figure, snakemake.output.table)
    Path(snakemake.output.summary).write_text(json.dumps(summary, indent=2))
    log(json.dumps(summary, indent=1))
