"""Rule theory_vs_experiment: estimate the parameters of Jiang, Baek, Kolter (ICLR 2024, §5)
from the ensemble's Ω, predict accuracy and agreement, and set them beside the measurement."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.files import write_json
from featurelab.interaction import Tensor
from featurelab.theory import figures as F
from featurelab.theory.compare import theory_vs_experiment

with logged(snakemake.log[0]):
    t = Tensor(Path(snakemake.input.tensor).parent)
    estimates, table = theory_vs_experiment(t, label=snakemake.wildcards.ensemble)
    write_json(snakemake.output.estimates, estimates)
    table.to_csv(snakemake.output.table, index=False)
    fig, _ = F.fig_theory_vs_experiment(table)
    fig.savefig(snakemake.output.figure, dpi=120)
    log(table.to_string(index=False))
