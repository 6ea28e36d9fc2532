"""The gde control's decision on hand-made parts whose agreement − accuracy is known."""
import numpy as np
import pytest

from featurelab.activations import write_activations
from featurelab.controls import Part
from featurelab.gde.controls import decide_gde, gde_verdict
from featurelab.gde.metrics import pair_differences

N = 1000


def _gde_members() -> np.ndarray:
    """Three members, label 0 everywhere. All right on 0-899; all wrong with answer 1 on 900-929
    (shared: s = 30 per pair); one member right, the others wrong with different answers, on
    930-959 (member 0), 960-989 (member 1), 990-999 (member 2). Per pair
    diff = (s − e/2)/N: pair 01 (30 − 60/2) = 0, pair 02 (30 − 40/2)/N = 0.01, pair 12 0.01."""
    p = np.zeros((3, N), dtype=np.int64)
    p[:, 900:930] = 1
    for right, (lo, hi) in enumerate([(930, 960), (960, 990), (990, 1000)]):
        others = [m for m in range(3) if m != right]
        p[others[0], lo:hi], p[others[1], lo:hi] = 1, 2
    return p


def _independent_members() -> np.ndarray:
    """All right on 0-699; on three blocks of 100 one member right and the other two wrong with
    different answers (each pair: e = 200); on 680-699 members 0 and 1 wrong alike (answer 1),
    member 2 right. Pair 01: (20 − 200/2)/N = −0.08; pairs 02, 12: (0 − 220/2)/N = −0.11."""
    p = np.zeros((3, N), dtype=np.int64)
    for right, lo in enumerate((700, 800, 900)):
        others = [m for m in range(3) if m != right]
        p[others[0], lo:lo + 100], p[others[1], lo:lo + 100] = 1 + right, 4 + right
    p[0, 680:700] = p[1, 680:700] = 1
    return p


def test_pair_differences_known():
    np.testing.assert_allclose(pair_differences(_gde_members(), np.zeros(N, int)), [0.0, 0.01, 0.01], atol=1e-12)
    np.testing.assert_allclose(pair_differences(_independent_members(), np.zeros(N, int)), [-0.08, -0.11, -0.11],
                               atol=1e-12)


def test_gde_verdict_intervals():
    y = np.zeros(N, int)
    v = gde_verdict(_gde_members(), y, 0.05)
    # mean 0.00667, sd 0.005774, se 0.003333, t(0.975, 2) = 4.3027
    assert v["estimate"] == pytest.approx(0.02 / 3)
    assert v["lo"] == pytest.approx(0.02 / 3 - 4.302653 * 0.01 / np.sqrt(3) / np.sqrt(3), abs=1e-5)
    assert v["verdict"] == "holds"
    w = gde_verdict(_independent_members(), y, 0.05)
    # mean −0.1, sd 0.01732, se 0.01: [−0.143, −0.057], wholly below −0.05
    assert w["estimate"] == pytest.approx(-0.1) and w["hi"] == pytest.approx(-0.1 + 4.302653 * 0.01, abs=1e-5)
    assert w["verdict"] == "fails"
    assert gde_verdict(_independent_members(), y, 0.08)["verdict"] == "undecided"
    with pytest.raises(ValueError):
        gde_verdict(_gde_members(), y, 0.0)


def _part(tmp_path, arm, name, preds):
    paths = []
    for m, p in enumerate(preds):
        logits = np.eye(10, dtype=np.float32)[p] * 5.0
        path = tmp_path / arm / name / f"m{m}.parquet"
        write_activations(path, index=np.arange(N), label=np.zeros(N, np.int64), prediction=p, logits=logits,
                          activation=np.zeros((N, 2), np.float32), metadata={"seed": m})
        paths.append(path)
    return Part(name=name, dataset=f"{arm}_{name}", models=[f"m{m}" for m in range(len(preds))],
                activations=paths, info={"seed": 0})


def _arm(tmp_path, arm, base, blue2):
    return {"super10": _part(tmp_path, arm, "super10", base), "super2": _part(tmp_path, arm, "super2", base),
            "blue1": _part(tmp_path, arm, "blue1", base), "blue2": _part(tmp_path, arm, "blue2", blue2)}


def test_decide_on_holds_off_fails(tmp_path):
    g, ind = _gde_members(), _independent_members()
    arms = {"on": _arm(tmp_path, "on", g, ind), "off": _arm(tmp_path, "off", ind, g)}
    r = decide_gde(arms, {"base": "super10", "tolerance": 0.05})
    on, off = r["arms"]["on"], r["arms"]["off"]
    assert on["gde_base"]["verdict"] == "holds"
    # blue range |0.00667 − (−0.1)|, superclass range 0 (the same members twice)
    assert on["interval"]["difference"] == pytest.approx(0.02 / 3 + 0.1)
    assert on["comparison"]["verdict"] == "holds" and r["on"]["verdict"] == "holds"
    # off: GDE fails on the base, so the comparison (computed: holds) is not decided
    assert off["gde_base"]["verdict"] == "fails"
    assert off["comparison"]["verdict"] == "no verdict" and off["comparison"]["computed_verdict"] == "holds"
    assert r["off"]["verdict"] == "fails"
    assert r["passes"] is True
    assert r["sizes"]["on"]["blue2"] == {"members": 3, "n_test": N}


def test_decide_gde_without_spread_is_not_the_finding(tmp_path):
    g = _gde_members()
    arms = {"on": _arm(tmp_path, "on", g, g), "off": _arm(tmp_path, "off", g, g)}
    r = decide_gde(arms, {})
    # GDE holds, but blue range 0 = superclass range 0: redrawn from their standard errors the
    # range difference straddles 0, so the finding is undecided and the control does not pass
    assert r["arms"]["on"]["gde_base"]["verdict"] == "holds"
    assert r["arms"]["on"]["interval"]["difference"] == 0.0
    assert r["arms"]["on"]["interval"]["difference_lo"] < 0 < r["arms"]["on"]["interval"]["difference_hi"]
    assert r["on"]["verdict"] == "undecided" and r["passes"] is False


def test_bad_arms(tmp_path):
    g = _gde_members()
    arm = _arm(tmp_path, "on", g, g)
    with pytest.raises(ValueError, match="base part"):
        decide_gde({"on": arm, "off": arm}, {"base": "super5"})
    with pytest.raises(ValueError, match="arm 'off'"):
        decide_gde({"on": arm}, {})
    with pytest.raises(ValueError, match="super<k> or blue<g>"):
        decide_gde({"on": {**arm, "base": arm["super10"]}, "off": arm}, {})
