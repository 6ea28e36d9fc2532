"""Rule gde_tables: Tables 1-2 (accuracy, agreement, agreement − accuracy per condition, with
standard errors), the accuracy-vs-agreement figure, calibration per condition, and the
study's summary (featurelab.gde.summary)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import json

from featurelab.activations import read_ensemble
from featurelab.data.paper_numbers import paper_table
from featurelab.figures import save
from featurelab.controls import with_controls
from featurelab.files import read_json, write_json
from featurelab.gde import figures as F
from featurelab.gde.summary import study_tables
from featurelab.gde.tables import format_latex, format_markdown

with logged(snakemake.log[0]):
    o = snakemake.output
    ensembles = {condition: read_ensemble(snakemake.input[name], logits=True, activations=False)
                 for name, condition in snakemake.params.conditions.items()}
    blue_groups = [read_json(f) for f in snakemake.input.blue_groups]
    table, bins, summary = study_tables(ensembles, blue_groups, snakemake.params.level)
    paper = paper_table("gde")
    table.to_csv(o.table, index=False)
    Path(o.markdown).write_text(format_markdown(table, paper))
    Path(o.latex).write_text(format_latex(table, paper))
    save(*F.fig_accuracy_vs_agreement(table, paper), o.figure, o.figure_csv)
    save(*F.fig_calibration(bins), o.calibration, o.calibration_csv)
    if snakemake.input.external:  # the base-condition measure on external sets (gde.external)
        summary["external"] = {Path(f).stem: read_json(f) for f in snakemake.input.external}
    write_json(o.summary, with_controls(summary, snakemake.input.controls))
    log(Path(o.markdown).read_text())
    log(json.dumps(read_json(o.summary)["blue_groups"], indent=1))
