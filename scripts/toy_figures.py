"""Rule toy_figures: Fig 5, the learned-vector table and the verdict of paper 002's toy setting."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab import toy_figures as F

    o, threshold = snakemake.output, snakemake.params.threshold
    runs = F.load_runs(snakemake.input.summaries, snakemake.input.curves)
    F.save(*F.fig5(runs, threshold=threshold), o.fig5, o.fig5_csv)
    table = F.learned_table(runs)
    table.to_csv(o.table, index=False)
    Path(o.table_md).write_text(F.learned_markdown(table, threshold))
    verdict = F.finding(runs)
    Path(o.summary).write_text(json.dumps(verdict, indent=2))
    log(f"wide network {verdict['wide']}; the finding holds at seeds {verdict['seeds_where_it_holds']}, "
        f"fails at {verdict['seeds_where_it_fails']}")
