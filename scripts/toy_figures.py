"""Rule toy_figures: Fig 5, the learned-vector table and the verdict on finding 4.1 of the toy
setting (Duzgun, Jelassi, Li, 2024, §4)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.figures import save
from featurelab.files import write_json
from featurelab.toy import figures as F
from featurelab.toy.findings import finding, learned_markdown, learned_table, load_runs

with logged(snakemake.log[0]):
    o, threshold = snakemake.output, snakemake.params.threshold
    runs = load_runs(snakemake.input.summaries, snakemake.input.curves)
    save(*F.fig5(runs, threshold=threshold), o.fig5, o.fig5_csv)
    table = learned_table(runs)
    table.to_csv(o.table, index=False)
    Path(o.table_md).write_text(learned_markdown(table, threshold))
    verdict = finding(runs, snakemake.params.seed_share, snakemake.params.level)
    write_json(o.summary, verdict)
    log(f"wide network {verdict['wide']}; the finding holds at seeds {verdict['seeds_where_it_holds']}, "
        f"fails at {verdict['seeds_where_it_fails']}; over the seeds: {verdict['verdict']['verdict']}")
