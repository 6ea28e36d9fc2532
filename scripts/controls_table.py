"""Rule controls_table: every control's result in one summary (results/controls/summary.json,
whose verdicts the Findings table lists) and one table (controls.csv, controls.md)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import logged  # noqa: E402, I001

from featurelab.controls import controls_summary, controls_table
from featurelab.files import read_json, write_json

with logged(snakemake.log[0]):
    results = [read_json(f) for f in snakemake.input]
    write_json(snakemake.output.summary, controls_summary(results))
    table = controls_table(results)
    table.to_csv(snakemake.output.table, index=False)
    Path(snakemake.output.markdown).write_text(controls_table(results, markdown=True))
