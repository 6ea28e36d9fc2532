"""Rules unpack_activations and unpack_features: copy one packed model's extracted files from
its pack's extraction folder to where extract_member / extract_width_member would have written
them (results/zoo/<model>/activations/, epochs/, features/)."""
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

with logged(snakemake.log[0]):
    model = snakemake.wildcards.model
    source = Path(snakemake.input[0]) / model
    for target in map(Path, snakemake.output):
        rel = Path(*target.parts[target.parts.index(model) + 1:])  # activations/<layer>/<split>.parquet, ...
        if (source / rel).is_dir():
            shutil.copytree(source / rel, target, dirs_exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / rel, target)
    log(f"copied {len(snakemake.output)} outputs of {model} from {source}")
