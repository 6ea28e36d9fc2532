"""Rule findings: every study's verdicts (featurelab.verdicts) in one table, CSV and Markdown."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.files import read_json
from featurelab.verdicts import findings_markdown, findings_table

with logged(snakemake.log[0]):
    root = Path(snakemake.params.root)
    # a study's summary repeats its controls' results: the controls' own summary lists them once
    summaries = {Path(f).parent.relative_to(root).as_posix(): read_json(f) for f in snakemake.input}
    summaries = {k: ({n: v for n, v in s.items() if n != "controls"} if k != "controls" else s)
                 for k, s in summaries.items()}
    table = findings_table(summaries)
    table.to_csv(snakemake.output.csv, index=False)
    md = findings_markdown(table)
    Path(snakemake.output.markdown).write_text(md)
    log(md)
