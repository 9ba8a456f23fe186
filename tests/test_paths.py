"""Output paths: only checked names, always strictly inside --out; names shortened readably."""

from __future__ import annotations

import pytest

from hatinh_sd.errors import HatinhInputError, check_name
from hatinh_sd.results import atomic_dir, joined_name, output_folder


@pytest.mark.parametrize("name", ["baseline", "plan_2030-b", "a" * 64, "X9"])
def test_safe_names_pass(name):
    assert check_name(name) == name


@pytest.mark.parametrize(
    "name", ["", ".", "..", "a/b", "a b", "=1+2", "@x", "a" * 65, "tên", "a\0b", "a.b"]
)
def test_unsafe_names_are_refused(name):
    with pytest.raises(HatinhInputError, match="1-64 letters"):
        check_name(name)


def test_output_folder_stays_inside_out(tmp_path):
    assert output_folder(tmp_path, "baseline") == tmp_path / "baseline"
    with pytest.raises(HatinhInputError):
        output_folder(tmp_path, "..")
    (tmp_path / "file").write_text("x")
    with pytest.raises(HatinhInputError, match="is a file"):
        output_folder(tmp_path / "file", "baseline")


def test_joined_names_are_shortened_with_a_hash():
    short = joined_name("compare", ["baseline", "human_capital"])
    assert short == "compare_baseline_human_capital"
    names = ["a" * 64, "b" * 64]
    long = joined_name("compare", names)
    assert len(long) == 64 and long.startswith("compare_aaaa") and check_name(long)
    assert long != joined_name("compare", ["a" * 64, "c" * 64])
    assert long == joined_name("compare", names)


def test_atomic_dir_never_replaces_a_file(tmp_path):
    (tmp_path / "plan.yaml").write_text("levers: {}\n")
    with pytest.raises(HatinhInputError, match="not a results folder"):
        with atomic_dir(tmp_path / "plan.yaml"):
            pass
    assert (tmp_path / "plan.yaml").read_text() == "levers: {}\n"
