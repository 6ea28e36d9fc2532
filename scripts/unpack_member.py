"""Rule unpack_member: copy one packed model's files from its pack's folder to where
train_member would have written them (weights, metrics, checkpoints, and its epoch lines)."""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402

with logged(snakemake.log[0]):
    pack = Path(snakemake.input[0])
    name = snakemake.wildcards.model
    own_log = pack / f"{name}.log"
    if own_log.exists():
        print(own_log.read_text(), end="")
    shutil.copyfile(pack / f"{name}.pt", snakemake.output.model)
    shutil.copyfile(pack / f"{name}.json", snakemake.output.metrics)
    shutil.copytree(pack / name, snakemake.output.epochs, dirs_exist_ok=True)
    log(f"{name} was trained in {pack} (its log: results/logs/train/{pack.name}.log)")
