"""Rule train_pack: train several models of one group in one job as one grouped network
(featurelab.training.packed); each model's files land in the pack's folder, named by its
zoo id, for unpack_member."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.files import write_json
from featurelab.gpus import job_device
from featurelab.training import Recipe, train_pack

with logged(snakemake.log[0]):
    members = snakemake.params.members
    first = members[0]
    out = Path(snakemake.output[0])
    out.mkdir(parents=True, exist_ok=True)
    names = [p["model"] for p in members]
    with job_device(first["device"], snakemake.params.gpu, log=log) as device:
        metrics = train_pack(
            load_split(snakemake.input.train),
            test=load_split(snakemake.input.test),
            heldout=load_split(snakemake.input.heldout) if "heldout" in snakemake.input.keys() else None,
            arch=first["arch"], width=first["width"], seeds=[p["seed"] for p in members],
            subset_size=first["subset"], recipe=Recipe.from_dict(first["recipe"]),
            out_paths=[out / f"{n}.pt" for n in names], checkpoint_dirs=[out / n for n in names],
            member_logs=[out / f"{n}.log" for n in names], state_path=snakemake.params.state,
            device=device, threads=snakemake.threads, fast=snakemake.params.fast,
            metas=[{k: p[k] for k in ("model", "dataset")} for p in members], log=log,
        )
    for p, n, m in zip(members, names, metrics):
        write_json(out / f"{n}.json", {**p, **m})
