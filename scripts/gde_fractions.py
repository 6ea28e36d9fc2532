"""Rule gde_fractions: Fig 5b, test accuracy against the training fraction."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import pandas as pd

from featurelab.figures import save
from featurelab.files import read_json
from featurelab.gde import figures as F

with logged(snakemake.log[0]):
    rows = []
    for name, fraction in snakemake.params.fractions.items():
        for member, path in enumerate(snakemake.input[name]):
            m = read_json(path)
            rows.append({"fraction": fraction, "ensemble": name, "member": member, "n_train": m["subset_size"],
                         "accuracy": m["test_acc"]})
    df = pd.DataFrame(rows)
    save(*F.fig5b(df[["fraction", "accuracy", "n_train"]]), snakemake.output.figure, snakemake.output.table)
    log(df.groupby("n_train")["accuracy"].agg(["mean", "std"]).to_string())
