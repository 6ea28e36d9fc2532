"""Rule interaction_tensors: Ω of one ensemble for every variant (main, sensitivity settings,
depths; Jiang, Baek, Kolter, ICLR 2024, §3, Algorithm 1), one tensor bundle each."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.interaction.io import build_variant

with logged(snakemake.log[0]):
    for variant, settings in snakemake.params.settings.items():
        files = snakemake.input[variant]
        out = Path(next(f for f in snakemake.output if Path(f).parent.name == variant)).parent
        log(f"{variant}: {len(files)} members, settings {settings}")
        build_variant(files, out, settings, log=log)
