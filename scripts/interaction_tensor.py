"""Rule interaction_tensor: Ω of one ensemble and variant (Jiang, Baek, Kolter, ICLR 2024, §3)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.interaction.io import build_variant

    s = snakemake.params.settings
    if "epoch" in s:  # the inputs are the members' epochs/ folders
        files = [Path(d) / f"epoch{s['epoch']:03d}" / s["layer"] / f"{s['split']}.parquet" for d in snakemake.input]
    else:
        files = list(snakemake.input)
    log(f"{len(files)} members, settings {s}")
    build_variant(files, Path(snakemake.output.omega).parent, s, log=log)
