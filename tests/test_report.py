"""The HTML report: every caption under report/ belongs to a rule's report() output and every
report() output has its caption; the front page and the categories (one per study)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY_CATEGORIES = {"Ensembles", "Interaction", "Theory", "GDE", "Width", "Toy"}


def rule_text() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))


def captions_in_rules() -> set[str]:
    """Caption files the rules name, the f-string of the width study's Figs 7-8 expanded."""
    text = rule_text()
    found = set(re.findall(r'caption="\.\./(report/[^"]+\.rst)"', text))
    init = re.search(r'WIDTH_INIT_FIGURES = \[([^\]]*)\]', text).group(1)
    for fig in re.findall(r'"(\w+)"', init):
        found.add(f"report/width/{fig}.rst")
    return found


def test_every_caption_file_is_used_and_every_caption_exists():
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "report").rglob("*.rst")} - {"report/workflow.rst"}
    used = captions_in_rules()
    assert used - files == set(), "captions named by a rule but missing"
    assert files - used == set(), "caption files no rule puts in the report"


def test_every_figure_of_a_rule_with_captions_is_in_the_report():
    """A rule that puts some output in the report puts all its figures there."""
    for block in re.split(r"\n(?=rule \w+:)", rule_text())[1:]:
        out = block.split("output:", 1)[1].split("\n    log:", 1)[0] if "output:" in block else ""
        if "report(" not in out:
            continue
        pngs = re.findall(r'(\w+)=(report\()?\s*"results/[^"]+\.png"', out)
        plain = [name for name, rep in pngs if not rep]
        assert not plain, (block.split(":")[0], plain)


def test_front_page_and_categories_are_the_studies():
    assert 'report: "report/workflow.rst"' in (ROOT / "Snakefile").read_text()
    categories = set(re.findall(r'\bcategory="([^"]+)"', rule_text()))
    assert categories == STUDY_CATEGORIES, categories
    front = (ROOT / "report/workflow.rst").read_text()
    assert all(f"**{c}**" in front for c in STUDY_CATEGORIES)
