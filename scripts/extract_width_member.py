"""Rule extract_width_member: one width-study member's penultimate features on train,
validation and test, trained and at its random initialisation, to Parquet."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split
    from featurelab.extract import extract_member

    p, wc = snakemake.params, snakemake.wildcards
    outputs = set(snakemake.output)
    for split in p.splits:
        data = load_split(snakemake.input[split])
        for state in p.states:
            path = f"results/{wc.ensemble}/features/member{wc.member}/{state}/{split}.parquet"
            assert path in outputs, (path, outputs)
            log(f"{state} weights:")
            extract_member(snakemake.input.model, data, split, {"penultimate": path}, init=state == "init",
                           device=p.device, batch_size=p.batch_size,
                           meta={"ensemble": wc.ensemble, "member": int(wc.member), "state": state}, log=log)
