"""The HTML report: every caption under report/ belongs to a rule's report() output and every
report() output has its caption; the front page and the categories (one per study)."""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STUDY_CATEGORIES = {"Findings", "Ensembles", "Interaction", "Theory", "GDE", "Width", "Toy", "Contamination",
                    "Diversity", "Controls"}


def rule_text() -> str:
    return "\n".join(p.read_text() for p in sorted((ROOT / "rules").glob("*.smk")))


def caption_used(rst: str, text: str) -> bool:
    """Whether the rules put ``report/<dir>/<stem>.rst`` in the report: named literally, or
    through a caption template of its folder (``../report/<dir>/{...}.rst``) with its stem
    among the rule files' strings."""
    folder, stem = Path(rst).parent.name, Path(rst).stem
    if f'"../{rst}"' in text:
        return True
    return f"../report/{folder}/{{" in text and re.search(rf'"{re.escape(stem)}(?:\.\w+)?"', text) is not None


def test_every_caption_file_is_used_and_every_caption_exists():
    text = rule_text()
    files = {str(p.relative_to(ROOT)) for p in (ROOT / "report").rglob("*.rst")} - {"report/workflow.rst"}
    unused = sorted(f for f in files if not caption_used(f, text))
    assert unused == [], "caption files no rule puts in the report"
    named = set(re.findall(r'caption="\.\./(report/[^"{]+\.rst)"', text))
    assert named <= files, f"captions named by a rule but missing: {sorted(named - files)}"


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
