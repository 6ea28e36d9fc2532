# Every study's verdicts in one table (featurelab.verdicts): the report's Findings page,
# results/findings.csv and results/findings.md, one row per finding (study, finding,
# estimate, interval, rule, basis, verdict).


rule findings:
    input:
        findings_inputs(),
    output:
        csv=report(
            "results/findings.csv",
            caption="../report/findings.rst",
            category="Findings",
        ),
        markdown="results/findings.md",
    log:
        "results/logs/findings.log",
    conda:
        "../envs/analysis.yaml"
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    params:
        root="results",
    script:
        "../scripts/findings_table.py"
