"""Rule external_<name>: one external model's activations in the zoo's Parquet layout
(featurelab.external): a checkpoint or TorchScript network run over the prepared splits, or
activation files checked against the prepared split point by point and rewritten."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.external import extract_external, import_activations

with logged(snakemake.log[0]):
    inp, out, p = snakemake.input, snakemake.output, snakemake.params
    member = int(snakemake.wildcards.member)
    meta = {"model": f"{p.name}-m{member}", "external": p.name, "member": member, "dataset": p.spec["dataset"],
            "route": p.route}
    keys = inp.keys()
    if p.route == "activations":
        for split in p.splits:
            labels = load_split(inp[f"split__{split}"]).labels
            files = {layer: inp[f"{layer}__{split}"] for layer in p.layers if f"{layer}__{split}" in keys}
            import_activations(files, inp.get(f"labels__{split}"), inp.get(f"logits__{split}"), labels,
                               {layer: out[f"{layer}__{split}"] for layer in files},
                               meta={**meta, "split": split}, log=log)
    else:
        import torch

        torch.set_num_threads(snakemake.threads)
        splits = {s: load_split(inp[f"split__{s}"]) for s in p.splits}
        train = splits.get("train") or (load_split(inp["split__train"]) if "split__train" in keys else None)
        extract_external(p.spec, inp.model, splits, p.layers,
                         {(layer, s): out[f"{layer}__{s}"] for layer in p.layers for s in p.splits},
                         train=train, device=p.device, batch_size=p.batch_size, meta=meta, log=log)
