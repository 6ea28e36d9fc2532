"""Rule gde_external: the GDE study's base-condition measure on an external set (gde.external):
accuracy, agreement and their difference with standard errors, calibration and the GDE verdict
from each model's test-split logits (featurelab.gde.summary.external_measure)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.activations import read_ensemble
from featurelab.files import write_json
from featurelab.gde.summary import external_measure

with logged(snakemake.log[0]):
    name, p = snakemake.wildcards.name, snakemake.params
    ens = read_ensemble(list(snakemake.input), logits=True, activations=False)
    if (ens.predictions < 0).any():
        raise ValueError(f"external set {name}: its files carry no logits (predictions -1); add external.{name}.logits")
    result, bins = external_measure(name, ens, p.tolerance, p.level)
    bins.to_csv(snakemake.output.calibration, index=False)
    write_json(snakemake.output.summary, result)
    log(f"{name}: {ens.M} models, {len(ens.labels)} test points; accuracy {result['accuracy_mean']:.4f}, agreement "
        f"{result['agreement_mean']:.4f}, difference {result['difference_mean']:+.4f} ± {result['difference_se']:.4f}; "
        f"{result['gde']['rule']}: {result['gde']['holds']}")
