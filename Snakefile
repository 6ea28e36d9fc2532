# featurelab: which features do neural networks learn from data?
#
# `snakemake --cores 2` runs the embedded default (config.yaml: a synthetic world, small
# models, CPU, offline); `snakemake --configfile presets/<preset>.yaml ...` runs a tier or a
# paper's full setting instead (README.md). `snakemake --report report.html` collects the
# figures and tables.

from snakemake.utils import min_version

min_version("9.0")


# A config file given on the command line replaces config.yaml instead of being
# merged into it, so a preset never inherits the default's synthetic ensemble.
if not workflow.overwrite_configfiles:

    configfile: f"{workflow.basedir}/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/data.smk"
include: "rules/train.smk"
include: "rules/extract.smk"
include: "rules/external.smk"
include: "rules/interaction.smk"
include: "rules/theory.smk"
include: "rules/gde.smk"
include: "rules/width.smk"
include: "rules/toy.smk"
include: "rules/contamination.smk"
include: "rules/diversity.smk"
include: "rules/controls.smk"
include: "rules/findings.smk"


rule all:
    default_target: True
    input:
        all_targets(),
