"""Rule theory_vs_experiment: estimate the §5 parameters from Ω, predict, compare with measurement."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab import theory_empirical as E
    from featurelab.interaction_study import Tensor

    t = Tensor(Path(snakemake.input.tensor).parent)
    est = E.estimate_parameters(t.triplets, t.M, t.N, t.T, t.clusters, t.predictions, t.labels)
    Path(snakemake.output.estimates).write_text(json.dumps(est, indent=2, allow_nan=False))
    predicted = {"paper (binary guessing)": E.predict(est),
                 f"{est['num_classes']}-class guessing (our extension)": E.predict(est, num_classes=est["num_classes"])}
    table = E.compare_table(est, E.measured(t.predictions, t.labels), predicted, label=snakemake.wildcards.ensemble)
    table.to_csv(snakemake.output.table, index=False)
    fig, _ = E.fig_theory_vs_experiment(table)
    fig.savefig(snakemake.output.figure, dpi=120)
    log(table.to_string(index=False))
