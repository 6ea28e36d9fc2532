# featurelab: which features do neural networks learn from data?
#
# Reproduces paper 000 (interaction tensor, GDE), 001, 002 and 004 of ../shared/seeds.
# `snakemake --cores 2` runs the embedded default (config.yaml: a synthetic world,
# small models, CPU, offline). `snakemake --configfile presets/paper000.yaml ...`
# runs a paper's full setting instead of the default (see README.md).

from snakemake.utils import min_version

min_version("9.0")


# A config file given on the command line replaces config.yaml instead of being
# merged into it, so a preset never inherits the default's synthetic ensemble.
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config.yaml"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/extract.smk"
include: "rules/interaction.smk"
include: "rules/theory.smk"
include: "rules/gde.smk"
include: "rules/width.smk"
include: "rules/toy.smk"


rule all:
    default_target: True
    input:
        all_targets(),
        toy_targets(),
