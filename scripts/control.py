"""Rule control: decide one control (featurelab.controls) in both arms with its study's own
code, and write results/controls/<control>.json."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.controls import decision, parts_from_files
from featurelab.files import write_json

with logged(snakemake.log[0]):
    info = snakemake.params.info
    arms = parts_from_files(info, {k: snakemake.input[k] for k in snakemake.input.keys()})
    for arm, parts in arms.items():
        log(f"{arm}: " + ", ".join(f"{p.name} ({len(p.models)} models on {p.dataset})" for p in parts.values()))
    result = decision(info["control"])(arms, info["settings"], level=snakemake.params.level,
                                       resamples=snakemake.params.resamples, seed=0)
    log(f"{info['control']}: on {result['on'].get('verdict')}, off {result['off'].get('verdict')}, "
        f"passes {result['passes']}")
    write_json(snakemake.output.result, result)
