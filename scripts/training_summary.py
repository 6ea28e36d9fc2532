"""Rule training_summary: per ensemble, one row per member (its zoo model, epochs, accuracies,
speed) and the training curves."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.training.summary import load_member_metrics, plot_training_curves

with logged(snakemake.log[0]):
    for name, models in snakemake.params.models.items():
        table, histories = load_member_metrics(snakemake.input[name])
        if list(table["model"]) != list(models):
            raise ValueError(f"the metrics files of {name} do not hold its models {models}")
        table.to_csv(snakemake.output[f"{name}__table"], index=False)
        plot_training_curves(histories, name).savefig(snakemake.output[f"{name}__figure"], dpi=120)
        log(f"{name}:\n{table.to_string(index=False)}")
