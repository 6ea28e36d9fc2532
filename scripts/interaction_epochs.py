"""Rule interaction_epochs: Ω of one ensemble at each checkpoint epoch and Fig 2a, feature
frequency over training (Jiang, Baek, Kolter, ICLR 2024, Fig 2a)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.figures import save
from featurelab.interaction import build_variant, feature_frequency, read_omega
from featurelab.interaction import figures as F

with logged(snakemake.log[0]):
    out = Path(snakemake.output.tensors)
    s = snakemake.params.settings
    freq_by_epoch = {}
    for e in snakemake.params.epochs:
        files = [Path(d) / f"epoch{e:03d}" / s["layer"] / f"{s['split']}.parquet" for d in snakemake.input.model_epochs]
        build_variant(files, out / f"epoch{e:03d}", {**s, "epoch": e}, log=log)
        om = read_omega(out / f"epoch{e:03d}" / "omega.parquet")
        freq_by_epoch[e] = feature_frequency(om.triplets, om.T)
        log(f"epoch {e}: T={om.T}, max frequency {freq_by_epoch[e].max()}")
    save(*F.fig2a_frequency_over_epochs(freq_by_epoch), snakemake.output.figure, snakemake.output.table)
