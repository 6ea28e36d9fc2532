"""Rule prepare_folder: the user's class-per-folder images → resources/prepared/folder/."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.sources import prepare_folder

with logged(snakemake.log[0]):
    prepare_folder(snakemake.params.root, Path(snakemake.output.train).parent,
                   image_size=snakemake.params.image_size)
    log("prepared the folder dataset")
