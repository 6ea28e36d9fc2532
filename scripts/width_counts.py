"""Rule width_counts: N_f and N_p per architecture and α from the real parameter counts."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import pandas as pd

    from featurelab.width import member_counts
    from featurelab.width_figures import to_markdown

    p = snakemake.params
    in_channels = 1 if p.dataset == "fashion_mnist" else 3
    tables = []
    for arch in p.archs:
        ens = p.ensembles[f"w_{arch}_a1"]
        t = member_counts(arch, [f"1/{k}" for k in p.dens], in_channels=in_channels, base_width=p.base_width)
        t.insert(0, "arch", arch)
        t["members_trained"] = [p.ensembles[f"w_{arch}_a{k}"]["members"] for k in p.dens]
        tables.append(t)
        log(f"{arch}:\n{t.to_string(index=False)}")
    table = pd.concat(tables, ignore_index=True)
    table.to_csv(snakemake.output.table, index=False)
    Path(snakemake.output.markdown).write_text(to_markdown(table, digits=3))
