"""Shared fixtures: small configs, an in-memory warehouse, the kit's folder."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from helpers.config import KIT_ROOT, RunConfig


@pytest.fixture(scope="session")
def kit_root() -> Path:
    """The kit's folder (configs/, notebooks/, pyproject.toml …)."""
    return KIT_ROOT


@pytest.fixture(scope="session")
def make_config():
    """A factory of minimal valid run configs: one transactions source named ``shop``.

    ``make_config(as_of, time_unit, **sections)``: any other section (costs, clv,
    rfmt_weights, tiers, currency …) as a dict or a config object.
    """

    def make(as_of: date = date(2025, 12, 31), time_unit: str = "week",
             **sections) -> RunConfig:
        shop = {"kind": "transactions", "path": "shop.csv",
                "columns": {"customer_key": "c", "order_date": "d", "amount": "a"}}
        return RunConfig(client="test", as_of=as_of, time_unit=time_unit,
                         sources={"shop": shop}, **sections)

    return make


@pytest.fixture(scope="session")
def identify_chain():
    """Notebook 01's builders in order, on a config's files: load, standardise, link,
    golden records, transactions, support contacts (``identify_chain(con, cfg)``)."""
    from helpers import identify
    from helpers.sources import build_load_counts

    def build(con: duckdb.DuckDBPyConnection, cfg: RunConfig) -> RunConfig:
        for step in (build_load_counts, identify.build_source_records,
                     identify.build_customer_xref, identify.build_customers,
                     identify.build_transactions, identify.build_support_contacts,
                     identify.build_marketing_spend, identify.build_survey_answers,
                     identify.build_campaign_exposure):
            step(con, cfg)
        return cfg

    return build


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


@pytest.fixture(scope="session")
def small_client(tmp_path_factory):
    """A small generated client (400 people, test_end_to_end.write_small_client): its folder
    and config."""
    from test_end_to_end import write_small_client

    root = tmp_path_factory.mktemp("client")
    return root, write_small_client(root)


@pytest.fixture(scope="session")
def small_report(small_client):
    """One good `cvkit run` of the small client, shared by the session: its report folder."""
    from test_end_to_end import run_small_client

    root, config = small_client
    return run_small_client(root, "reports", config)
