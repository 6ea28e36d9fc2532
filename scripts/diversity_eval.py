"""Rule diversity_eval: the held-out and test points of the diversity study (Gontijo-Lopes,
Dauphin, Cubuk, ICLR 2022): on a synthetic base world a fresh sample of it (another draw, no
model trains on it) with its ground truth; on a public or the user's dataset, its test split
cut at random into a held-out part and the rest."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.diversity.data import write_eval_splits

with logged(snakemake.log[0]):
    write_eval_splits(dict(snakemake.output.items()), world=snakemake.params.world,
                      source=snakemake.input.get("source"), heldout=snakemake.params.heldout,
                      seed=snakemake.params.seed, log=log)
