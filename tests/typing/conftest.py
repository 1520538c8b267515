"""Run the pytest-mypy-plugins cases with the project's mypy.ini, as a user's project would.

Each YAML case runs mypy in a subprocess, in a temporary directory. This module points it at
the project: the mypy.ini, the source roots the django-stubs plugin imports ``tests.settings``
from, and a cache directory that belongs to this checkout rather than to the shared /tmp.
"""

import os
import sys
from pathlib import Path

import pytest
from pytest_mypy_plugins.item import YamlTestItem

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    if not config.option.mypy_ini_file:
        config.option.mypy_ini_file = str(ROOT / "mypy.ini")
    # Keep mypy's cache with this checkout: the default, /tmp, is shared by every checkout.
    cache = getattr(config, "cache", None)  # None with -p no:cacheprovider
    if cache is not None:
        base = cache.mkdir("pytest-mypy-plugins")
    else:
        base = ROOT / "build" / "pytest-mypy-plugins"
        base.mkdir(parents=True, exist_ok=True)
    config.option.mypy_testing_base = str(base)
    # The plugin finds mypy on PATH; run the one installed next to this Python.
    bin_dir = str(Path(sys.executable).parent)
    if bin_dir not in os.environ["PATH"].split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([bin_dir, os.environ["PATH"]])


def pytest_runtest_setup(item: pytest.Item) -> None:
    if isinstance(item, YamlTestItem):
        # mypy.ini's relative mypy_path does not reach the project from the temporary
        # directory, and the django-stubs plugin imports tests.settings at run time.
        item.environment_variables["PYTHONPATH"] = str(ROOT)
        item.environment_variables["MYPYPATH"] = os.pathsep.join(
            [str(ROOT / "spec"), str(ROOT / "conformance")]
        )
