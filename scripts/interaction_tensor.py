"""Rule interaction_tensor: Ω of one ensemble and variant (paper 000 §3, SPEC 4)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.interaction_study import build_variant

    s = snakemake.params.settings
    if "epoch" in s:  # inputs are the members' epochs/ directories
        files = [Path(d) / f"epoch{s['epoch']:03d}" / s["layer"] / f"{s['split']}.parquet" for d in snakemake.input]
    else:
        files = list(snakemake.input)
    log(f"{len(files)} members, settings {s}")
    build_variant(files, Path(snakemake.output.omega).parent, s, log=log)
