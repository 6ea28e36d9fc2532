"""Rule training_summary: one row per member (epochs, accuracies, speed) and the curves."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.summary import load_member_metrics, plot_training_curves

    table, histories = load_member_metrics(snakemake.input)
    table.to_csv(snakemake.output.table, index=False)
    plot_training_curves(histories, snakemake.wildcards.ensemble).savefig(snakemake.output.figure, dpi=120)
    log(table.to_string(index=False))
