"""pytest's set-up for the whole repository (the tests' fixtures: tests/conftest.py)."""

# --doctest-modules (pyproject.toml) imports every module under src/hatinh_sd to run its
# docstring examples; the explorer's modules import Dash and have no examples.
collect_ignore = ["src/hatinh_sd/app"]
