"""Shared fixtures: small configs written into a temporary folder."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

KIT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def write_config(tmp_path):
    """Write a YAML config (a dict) into tmp_path and return its path."""

    def write(content: dict, name: str = "config.yaml") -> Path:
        path = tmp_path / name
        path.write_text(yaml.safe_dump(content, sort_keys=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def con():
    """An in-memory warehouse."""
    connection = duckdb.connect()
    yield connection
    connection.close()
