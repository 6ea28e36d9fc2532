"""Rule contamination_student: a student distilled from one teacher on ID images only, by mean
squared error to the teacher's penultimate representation (Zhang et al., ICML 2024, Sec. 2;
featurelab.training.distill)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from featurelab.workflow import log, logged  # noqa: E402, I001

from featurelab.data.prepared import load_split
from featurelab.gpus import job_device
from featurelab.training import Recipe
from featurelab.training.distill import distill_member

with logged(snakemake.log[0]):
    out = Path(snakemake.output[0])
    seed = int(snakemake.wildcards.seed)
    with job_device(snakemake.params.device, snakemake.params.gpu, log=log) as device:  # a GPU slot, held
        distill_member(load_split(snakemake.input.train), snakemake.input.teacher, seed=seed,
                       recipe=Recipe.from_dict(snakemake.params.recipe), out_path=out,
                       state_path=out.with_name(out.name + ".state"), device=device, threads=snakemake.threads,
                       meta={"role": "student", "teacher": snakemake.input.teacher}, log=log)
