"""Rule width_report: paper 002 Figs 1-4 and 7-8, Tables 2 and 4-5 and the findings of one
architecture, from the measurements of every α and state."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import json

    import pandas as pd

    from featurelab import width_figures as W

    arch = snakemake.wildcards.arch
    out = snakemake.output
    m = pd.concat([pd.read_csv(f) for f in snakemake.input.measurements], ignore_index=True)
    counts = pd.read_csv(snakemake.input.counts)
    counts = counts[counts.arch == arch]
    agg = W.aggregate(m)
    agg.to_csv(out.aggregate, index=False)

    def csv_of(png):
        return str(Path(png).with_suffix(".csv"))

    figures = {"fig1": ("trained", False), "fig2": ("trained", True), "fig7": ("init", False), "fig8": ("init", True)}
    for name, (state, reverse) in figures.items():
        png = out.get(name) or next((f for f in out.init_figures if Path(f).stem == name), None)
        if png is None:
            continue
        fig, df = W.fig_fsg(agg, counts, state=state, reverse=reverse, arch=arch)
        W.save(fig, df, png, csv_of(png))
        log(f"wrote {png}")
    fig, df = W.fig_fp(agg, counts, arch=arch)
    W.save(fig, df, out.fig3, csv_of(out.fig3))
    fig, df = W.fig_residuals(agg, counts, arch=arch)
    W.save(fig, df, out.fig4, csv_of(out.fig4))

    shuffled = W.table_shuffled(agg, counts)
    shuffled.to_csv(out.shuffled, index=False)
    Path(out.shuffled).with_suffix(".md").write_text(W.to_markdown(shuffled))
    log(f"Tables 4-5 ({arch}):\n{W.to_markdown(shuffled)}")

    rows = []
    for f in snakemake.input.metrics:
        met = json.loads(Path(f).read_text())
        rows.append({k: met.get(k) for k in ("arch", "width", "seed", "epochs", "final_train_acc", "test_acc")})
    metrics = pd.DataFrame(rows)
    base_width = metrics.width.max()
    metrics["alpha"] = metrics.width / base_width
    acc = W.table_accuracy(metrics)
    acc.to_csv(out.accuracy, index=False)
    Path(out.accuracy).with_suffix(".md").write_text(W.to_markdown(acc))
    log(f"Table 2 ({arch}):\n{W.to_markdown(acc)}")

    found = W.findings(agg, counts)
    Path(out.findings).write_text(json.dumps(found, indent=2))
    log(json.dumps(found, indent=2))
