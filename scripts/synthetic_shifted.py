"""Rule synthetic_shifted: the test split of a synthetic world with its backgrounds drawn from a
disjoint colour range, and its ground truth (featurelab.data.synthetic, the ``shifted``
split; Zhang et al., ICML 2024, Def. 3.1 in image form)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import save_split
from featurelab.data.synthetic import SHIFTED, SHIFTED_RG, WorldConfig, class_names, generate_split

with logged(snakemake.log[0]):
    cfg = WorldConfig.from_dict(snakemake.params.world)
    images, labels, truth = generate_split(cfg, SHIFTED)
    save_split(snakemake.output.shifted, images, labels, class_names(cfg))
    truth.to_parquet(snakemake.output.shifted_truth, index=False)
    log(f"shifted: {len(labels)} test images, backgrounds' red and green shares in {SHIFTED_RG}")
