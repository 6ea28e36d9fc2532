"""Rule interaction_epochs_figure: Fig 2a, feature frequency over the training epochs."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.figures import save
    from featurelab.interaction import feature_frequency, read_omega
    from featurelab.interaction import figures as F

    freq_by_epoch = {}
    for path in snakemake.input:
        om = read_omega(path)
        epoch = int(Path(path).parent.name[len("epoch"):])
        freq_by_epoch[epoch] = feature_frequency(om.triplets, om.T)
        log(f"epoch {epoch}: T={om.T}, max frequency {freq_by_epoch[epoch].max()}")
    save(*F.fig2a_frequency_over_epochs(freq_by_epoch), snakemake.output.figure, snakemake.output.table)
