"""Rule toy_seed: train every width condition of the toy setting (Duzgun, Jelassi, Li, 2024,
§4, App. C) for one seed, each condition's networks side by side."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

import numpy as np
import torch

from featurelab import toy
from featurelab.files import write_json

with logged(snakemake.log[0]):
    torch.set_num_threads(snakemake.threads)
    p, seed = snakemake.params.toy, int(snakemake.wildcards.seed)
    train, test = toy.generate(toy.ToySetting.from_dict(p), seed)
    for name, c in snakemake.params.conditions.items():
        expected = 2 * toy.activation_probability(p["bias"], p["init_std"]) * c["width"]
        log(f"{name}: {c['count']} network(s) of width {c['width']}, seed {seed}; {len(train)} training samples of "
            f"{p['patches']} patches in R^{p['dim']}; a neuron fires on ±w_j with probability "
            f"{expected / c['width']:.4f}, {expected:.2f} neurons per vector and network expected")
        result = toy.run_condition(
            train, test, width=c["width"], count=c["count"], hidden=p["hidden"], bias=p["bias"], sigma=p["init_std"],
            steps=c["steps"], batch_size=p["batch_size"], lr=p["lr"], weight_decay=p["weight_decay"],
            record_every=p["record_every"], seed=seed, log=log)
        summary = toy.summarize(result, p["threshold"])
        log(f"learned by the concatenation: {summary['concat_learned']}; networks learning each vector: "
            f"{summary['nets_learned']} of {c['count']}; test accuracy mean {summary['test_acc_mean']:.3f}, "
            f"best {summary['test_acc_max']:.3f}; {result.seconds:.1f}s")
        curves, = [f for f in snakemake.output.curves if Path(f).parent.name == name]
        summary_path, = [f for f in snakemake.output.summaries if Path(f).parent.name == name]
        np.savez_compressed(curves, steps=result.steps, epochs=result.epochs, corr=result.corr, active=result.active,
                            loss=result.loss, train_acc=result.train_acc, test_acc=result.test_acc)
        write_json(summary_path, {"condition": name, **c, "seed": seed, **summary, "settings": p})
