"""Rule interaction_summary: one JSON per ensemble: sizes, thresholds, O.1-O.4 per variant."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    variants = {}
    for t, o in zip(snakemake.input.tensors, snakemake.input.observations):
        info = json.loads(Path(t).read_text())
        name = Path(t).parent.name
        variants[name] = {**{k: info[k] for k in ("M", "N", "K_asked", "K", "T", "gamma_corr", "gamma_data",
                                                  "omega_entries")},
                          "settings": info["settings"], "observations": json.loads(Path(o).read_text())}
    main = variants["main"]
    summary = {
        "ensemble": snakemake.wildcards.ensemble,
        **{k: main[k] for k in ("M", "N", "K", "T", "gamma_corr", "gamma_data")},
        "observations": main["observations"],
        "variants": variants,
    }
    if "truth" in snakemake.input.keys():
        summary["ground_truth"] = json.loads(Path(snakemake.input.truth).read_text())
    Path(snakemake.output[0]).write_text(json.dumps(summary, indent=2, allow_nan=True))
    log(json.dumps({k: summary[k] for k in ("M", "N", "K", "T", "gamma_corr")}))
    log(json.dumps(main["observations"], indent=1))
