from __future__ import annotations

import pytest

from hatinh_sd.targets import gap, is_met, scorecard


@pytest.mark.parametrize(
    ("value", "comp", "target", "met"),
    [
        (9.1, ">", 9, True),
        (9.0, ">", 9, False),
        (170, ">=", 170, True),
        (20.9, "<", 21, True),
        (21, "<", 21, False),
        (29.8, "~", 33, True),
        (29.6, "~", 33, False),
        (36.3, "~", 33, True),
        (36.4, "~", 33, False),
        (float("nan"), ">", 0, False),
    ],
)
def test_is_met(value, comp, target, met):
    assert is_met(value, comp, target) is met


def test_gap_sign():
    assert gap(6.0, ">", 9) == pytest.approx(3.0)
    assert gap(25.0, "<", 21) == pytest.approx(-4.0)
    assert gap(20.0, "~", 33) == pytest.approx(33 * 0.9 - 20)
    assert gap(50.0, "~", 33) == pytest.approx(33 * 1.1 - 50)
    assert gap(10.0, ">", 9) == 0


def test_scorecard_reads_the_run(baseline):
    card = scorecard(baseline)
    assert list(card["id"]) == [f"T{i:02d}" for i in range(1, 13)]
    t11 = card.set_index("id").loc["T11"]
    assert t11["value"] == pytest.approx(float(baseline["urbanisation_rate"].sel(time=2030)))
    assert t11["met"] == (t11["value"] > 45)
    # T01 is growth 2021-2030 computed from the GRDP path itself
    g = (float(baseline["grdp"].sel(time=2030)) / float(baseline["grdp"].sel(time=2020))) ** 0.1 - 1
    assert card.set_index("id").loc["T01", "value"] == pytest.approx(100 * g, rel=1e-9)


def test_an_overshot_approximate_target_is_exceeded_not_met():
    from hatinh_sd.targets import status

    assert status(29.0, "~", 27.0) == "met"  # within 10 %
    assert status(40.5, "~", 27.0) == "exceeded"
    assert status(20.0, "~", 27.0) == "missed"
    assert status(40.5, ">=", 50.0) == "missed" and status(55.0, ">=", 50.0) == "met"
    assert status(float("nan"), "~", 27.0) == "missed"
