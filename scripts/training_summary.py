"""Rule training_summary: one row per member of an ensemble (its zoo model, epochs,
accuracies, speed) and the training curves."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.training.summary import load_member_metrics, plot_training_curves

    table, histories = load_member_metrics(snakemake.input)
    if list(table["model"]) != list(snakemake.params.models):
        raise ValueError(f"the metrics files do not hold the ensemble's models {snakemake.params.models}")
    table.to_csv(snakemake.output.table, index=False)
    plot_training_curves(histories, snakemake.wildcards.ensemble).savefig(snakemake.output.figure, dpi=120)
    log(table.to_string(index=False))
