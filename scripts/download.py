"""Rules download_<dataset>: fetch the canonical files (or copy them from the mirror), checksum-verified."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.sources import fetch

with logged(snakemake.log[0]):
    dest = Path(snakemake.output[0]).parent
    files = fetch(snakemake.params.dataset, dest, mirror=snakemake.params.mirror, progress=log,
                  checksums=snakemake.params.checksums)
    missing = [f for f in snakemake.output if not Path(f).exists()]
    if missing:
        raise RuntimeError(f"fetch did not produce {missing}")
