"""Rule superclass_dataset: relabel a prepared dataset into K̃ superclasses (Jiang, Baek,
Kolter, ICLR 2024, App. F.8)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split, save_split
    from featurelab.gde.datasets import relabel

    k = int(snakemake.wildcards.k)
    for split in ("train", "test"):
        s = relabel(load_split(snakemake.input[split]), k)
        save_split(snakemake.output[split], s.images, s.labels, s.classes)
        log(f"{split}: {len(s)} images in {k} superclasses {list(s.classes)}")
