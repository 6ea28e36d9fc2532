"""Rule interaction_summary: one JSON per ensemble: sizes, thresholds, O.1-O.4 per variant."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import json

    from featurelab.files import read_json, write_json
    from featurelab.interaction.findings import ensemble_summary

    inp = snakemake.input
    variants = {Path(t).parent.name: (read_json(t), read_json(o)) for t, o in zip(inp.tensors, inp.observations)}
    truth = read_json(inp.truth) if "truth" in inp.keys() else None
    summary = ensemble_summary(snakemake.wildcards.ensemble, variants, truth)
    write_json(snakemake.output[0], summary)
    log(json.dumps({k: summary[k] for k in ("M", "N", "K", "T", "gamma_corr")}, default=str))
    log(json.dumps(summary["observations"], indent=1, default=str))
