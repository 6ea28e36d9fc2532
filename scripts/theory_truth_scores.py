"""Rule theory_truth_scores: the estimated data-side parameters against the synthetic world's."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import pandas as pd

    from featurelab import theory_empirical as E

    est = json.loads(Path(snakemake.input.estimates).read_text())
    truth = E.synthetic_truth(json.loads(Path(snakemake.input.world).read_text()),
                              pd.read_parquet(snakemake.input.truth))
    scores = E.score_against_truth(est, truth)
    scores.to_csv(snakemake.output[0], index=False)
    log(scores.to_string(index=False))
