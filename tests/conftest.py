"""Shared fixtures: the engine twins, and Hypothesis settings for CI and for developers."""

from __future__ import annotations

import importlib
import os

import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default", deadline=None, max_examples=100,
    suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "ci", deadline=None, max_examples=200, derandomize=True,
    suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("ci" if os.environ.get("CI") else "default")


def _engines() -> list[str]:
    names = ["py"]
    try:
        importlib.import_module("cardseq._engine_c")
    except ImportError:
        pass
    else:
        names.append("c")
    return names


@pytest.fixture(scope="session", params=_engines())
def engine(request):
    """Each engine twin that this installation has: every test using it runs on both."""
    return importlib.import_module(f"cardseq._engine_{request.param}")
