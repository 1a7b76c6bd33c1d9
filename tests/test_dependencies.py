"""Installed distributions that the design depends on."""

import importlib.metadata

import pytest


def test_passlib_comes_from_libpass_alone() -> None:
    # given / when: what provides the `passlib` import name
    providers = importlib.metadata.packages_distributions().get("passlib", [])
    # then: the maintained libpass, and never the abandoned passlib beside it (same files)
    assert importlib.metadata.version("libpass")
    assert providers == ["libpass"]
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        importlib.metadata.distribution("passlib")
