"""Rule train_member: train one ensemble member; progress goes to the rule's log."""
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    from featurelab.data.prepared import load_split
    from featurelab.train import Recipe, train_member

    p = snakemake.params.train
    metrics = train_member(
        load_split(snakemake.input.train),
        test=load_split(snakemake.input.test),
        arch=p["arch"], width=p["width"], seed=p["seed"], subset_size=p["subset"],
        recipe=Recipe.from_dict(p["recipe"]),
        out_path=snakemake.output.model, state_path=snakemake.params.state,
        checkpoint_dir=snakemake.output.epochs, device=p["device"], threads=snakemake.threads,
        meta={k: p[k] for k in ("ensemble", "member", "dataset")}, log=log,
    )
    Path(snakemake.output.metrics).write_text(json.dumps({**p, **metrics}, indent=2))
