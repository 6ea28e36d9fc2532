"""Rule gde_fractions: Fig 5b, test accuracy against the training fraction."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    import pandas as pd

    from featurelab import gde_figures as F

    rows = []
    for name in snakemake.input.keys():
        for path in snakemake.input[name]:
            m = json.loads(Path(path).read_text())
            rows.append({"fraction": snakemake.params.fractions[name], "ensemble": name, "member": m["member"],
                         "n_train": m["subset_size"], "accuracy": m["test_acc"]})
    df = pd.DataFrame(rows)
    F.save(*F.fig5b(df[["fraction", "accuracy", "n_train"]]), snakemake.output.figure, snakemake.output.table)
    log(df.groupby("n_train")["accuracy"].agg(["mean", "std"]).to_string())
