"""Rule extract_width_member: one width-study model's penultimate features on train,
validation and test, trained and at its random initialisation, to Parquet
(results/zoo/<model>/features/<state>/<split>.parquet)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.extract import extract_member

with logged(snakemake.log[0]):
    p = snakemake.params
    outputs: dict[str, dict[str, str]] = {}  # split -> state -> path, read off the declared outputs
    for path in snakemake.output:
        outputs.setdefault(Path(path).stem, {})[Path(path).parent.name] = path
    for split, by_state in outputs.items():
        data = load_split(snakemake.input[split])
        for state, path in by_state.items():
            log(f"{state} weights:")
            extract_member(snakemake.input.model, data, split, {"penultimate": path}, init=state == "init",
                           device=p.device, batch_size=p.batch_size,
                           meta={"model": snakemake.wildcards.model, "state": state}, log=log)
