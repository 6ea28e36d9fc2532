"""analysis/control_costs.py: each job's time goes to the control whose world or recipe it
trains on; the base world's shared jobs stay on one line."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from analysis.control_costs import attribute, world_owners  # noqa: E402


def test_jobs_are_attributed_by_world_and_recipe():
    controls = {"recipe": "small",
                "o4": {"arms": {"positive": {"a": {"world": "s0"}}, "negative": {"b": {"members": 4}}}},
                "gde": {"arms": {"positive": {"x": {"world": "look"}}, "negative": {"x": {"world": "s0"}}}},
                "padding": {"arms": {"positive": {"p": {"recipe": "padded_c", "world": "base"},
                                                         "q": {"recipe": None, "world": "base"}}}},
                "theory": {"enabled": False, "arms": {"positive": {"a": {"world": "gone"}}}}}
    owners, recipes = world_owners(controls)
    assert owners == {"s0": {"o4", "gde"}, "look": {"gde"}} and recipes == {"padded_c": {"padding"}}
    jobs = [("train_pack", 10.0, "results/logs/train/synthetic__ctllook__blue2-resnet18-w0.125-small-c0.log"),
            ("train_pack", 5.0, "results/logs/train/synthetic__ctls0-resnet18-w0.125-small-c0.log"),
            ("train_pack", 7.0, "results/logs/train/synthetic-resnet18-w0.125-padded_c-c1.log"),
            ("train_pack", 3.0, "results/logs/train/synthetic-resnet18-w0.125-small-c0.log"),
            ("control", 2.0, "results/logs/controls/gde.log")]
    costs = attribute(jobs, owners, recipes)
    assert costs == {"gde": [10.0, 2.0], "gde+o4": [5.0], "padding": [7.0],
                     "base world (shared with the default)": [3.0]}
