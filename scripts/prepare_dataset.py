"""Rule prepare_dataset: canonical files → resources/prepared/<dataset>/{train,test}.npz."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.sources import prepare_dataset

with logged(snakemake.log[0]):
    prepare_dataset(snakemake.wildcards.dataset, Path(snakemake.output.train).parent,
                    raw_dir=Path(snakemake.input[0]).parent, pad_to=snakemake.params.pad_to,
                    progress=log, checksums=snakemake.params.checksums)
