"""Rule contamination_padding: networks trained on colour-padded images against the same recipe
without padding (Zhang et al., ICML 2024, App. F.4; featurelab.contamination.padding): each
stage's channel responses to the padding colour and to grey, accuracy on test images padded
with the training colour, another colour and none, and the most colour-responsive channels
of the last stage visualised by activation maximisation."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import numpy as np
import pandas as pd
import torch

from featurelab.contamination import padding as P
from featurelab.data.prepared import load_split
from featurelab.training.inputs import to_input
from featurelab.training.recipe import select_device
from featurelab.training.solo import evaluate, load_member

with logged(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    dev = select_device(snakemake.params.device)
    cfg, recipe = snakemake.params.padding, snakemake.params.recipe
    colour, other, grey, pad = list(recipe["pad_color"]), list(cfg["other_colour"]), list(cfg["grey"]), recipe["pad"]
    test = load_split(snakemake.input.test)
    size = test.images.shape[1]
    labels = torch.as_tensor(test.labels, device=dev)
    mode = recipe.get("pad_mode", "crop")
    tests = {"none": test.images, "training colour": P.pad_test_images(test.images, pad, colour, mode),
             "other colour": P.pad_test_images(test.images, pad, other, mode)}
    log(f"padding {pad} px of {colour}, {mode} (Zhang et al. 2024, App. F.4)"
        + (", PGD adversarial training" if recipe.get("adv_steps") else ""))
    rows, filters, filter_meta = [], [], []
    for kind, models in snakemake.params.pairs.items():
        for i, model_id in enumerate(models):
            model, payload = load_member(snakemake.input[f"{kind}__{i}"], dev)
            mean, std = payload["mean"], payload["std"]
            acc = {t: evaluate(model, to_input(imgs, mean, std, dev), labels) for t, imgs in tests.items()}
            log(f"{kind} {model_id}: test accuracy " + ", ".join(f"{t} {a:.3f}" for t, a in acc.items()))
            for t, a in acc.items():
                rows.append({"kind": kind, "member": i, "model": model_id, "measure": "accuracy", "test": t,
                             "stage": 0, "channel": -1, "value": a})
            responses = P.colour_response(model, [colour, grey, other], size, mean, std, dev)
            for s, r in enumerate(responses, start=1):
                for which, row in zip(("padding colour", "grey", "other colour"), r):
                    rows += [{"kind": kind, "member": i, "model": model_id, "measure": "response", "test": which,
                              "stage": s, "channel": c, "value": float(v)} for c, v in enumerate(row)]
            if cfg["visualize"] and i == 0:
                last = responses[-1]
                top = np.argsort(-(last[0] - last[1]))[:cfg["visualize"]]
                imgs = P.visualize_channels(model, len(responses), top.tolist(), size, mean, std,
                                            steps=cfg["visualize_steps"], device=dev)
                filters.append(imgs)
                filter_meta += [{"kind": kind, "model": model_id, "stage": len(responses), "channel": int(c),
                                 "response_gap": float(last[0, c] - last[1, c])} for c in top]
                log(f"{kind} {model_id}: visualised channels {top.tolist()} of stage {len(responses)}")
    pd.DataFrame(rows).to_parquet(snakemake.output.measures, index=False)
    np.savez_compressed(snakemake.output.filters,
                        images=np.concatenate(filters) if filters else np.zeros((0, size, size, 3), np.uint8),
                        kind=np.array([m["kind"] for m in filter_meta]),
                        channel=np.array([m["channel"] for m in filter_meta], dtype=np.int64),
                        gap=np.array([m["response_gap"] for m in filter_meta]))
