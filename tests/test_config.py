"""Config validation: bad keys are errors that name the key and the file."""

import re
from datetime import date

import pytest

from helpers.config import ConfigError, load_config

SHOP = {"kind": "transactions", "path": "shop.csv",
        "columns": {"customer_key": "acct", "order_date": "when", "amount": "total"}}


def minimal(**overrides):
    config = {"client": "acme", "as_of": "2025-12-31", "sources": {"shop": dict(SHOP)}}
    config.update(overrides)
    return config


def test_minimal_config_gets_defaults(write_config):
    cfg = load_config(write_config(minimal()))
    assert cfg.as_of == date(2025, 12, 31)
    assert cfg.time_unit == "week" and cfg.days_per_unit == 7
    assert cfg.costs.gross_margin_rate == 0.35
    assert cfg.source_path("shop") == cfg.config_file.parent / "shop.csv"


def test_misspelled_top_level_key_names_key_file_and_suggestion(write_config):
    path = write_config(minimal(tiers={"most_valuable_shar": 0.1}, curency="EUR"))
    with pytest.raises(ConfigError) as error:
        load_config(path)
    message = str(error.value)
    assert str(path) in message
    assert "unknown key 'curency'" in message and "did you mean 'currency'" in message
    assert "unknown key 'tiers.most_valuable_shar'" in message


def test_misspelled_key_inside_a_source(write_config):
    config = minimal()
    config["sources"]["shop"]["delimeter"] = ";"
    with pytest.raises(ConfigError, match=r"sources\.shop\.delimeter.*did you mean 'delimiter'"):
        load_config(write_config(config))


def test_unknown_role_and_missing_required_role(write_config):
    config = minimal()
    config["sources"]["shop"]["columns"] = {"customer_key": "acct", "amout": "total"}
    with pytest.raises(ConfigError) as error:
        load_config(write_config(config))
    assert "columns.amout" in str(error.value)
    assert "must map the role(s) ['order_date', 'amount']" in str(error.value)


def test_as_of_override_and_bad_values(write_config):
    path = write_config(minimal())
    assert load_config(path, as_of="2024-06-30").as_of == date(2024, 6, 30)
    with pytest.raises(ConfigError, match="time_unit"):
        load_config(write_config(minimal(time_unit="month")))
    with pytest.raises(ConfigError, match="missing key 'client'"):
        config = minimal()
        del config["client"]
        load_config(write_config(config))


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("client: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)


def test_support_source_must_link_to_a_known_source(write_config):
    support = {"kind": "support", "path": "t.csv", "linked_to": "crm",
               "columns": {"customer_key": "id", "contact_date": "d"}}
    config = minimal()
    config["sources"]["tickets"] = support
    with pytest.raises(ConfigError, match="linked_to names 'crm'"):
        load_config(write_config(config))


def test_package_paths_resolve_inside_the_package(write_config):
    config = minimal()
    config["sources"]["shop"]["path"] = "package:lifetimes/datasets/CDNOW_master.txt"
    cfg = load_config(write_config(config))
    assert cfg.source_path("shop").is_file()


def test_bundled_configs_are_valid(kit_root):

    for name in ("demo.yaml", "cdnow.yaml", "cdnow_sample.yaml"):
        load_config(kit_root / "configs" / name)


@pytest.mark.parametrize(("name", "suggestion"), [
    ("web-shop", "web_shop"), ("Web Shop", "web_shop"), ("2024orders", "s_2024orders"),
    ("shop'; DROP TABLE customers; --", "shop___drop_table_customers"),
])
def test_source_names_must_be_plain_identifiers(write_config, name, suggestion):
    """A source's name becomes table names and SQL literals: anything else is refused."""
    with pytest.raises(ConfigError, match=rf"source name '{re.escape(name)}'.*try '{suggestion}"):
        load_config(write_config(minimal(sources={name: dict(SHOP)})))


def test_a_source_named_web_shop_stops_the_run_before_any_work(write_config, tmp_path):
    from helpers.cli import main
    from helpers.errors import EXIT_BAD_CONFIG

    path = write_config(minimal(sources={"web-shop": dict(SHOP)}))
    assert main(["run", str(path), "--out", str(tmp_path / "reports"), "--no-progress"]) \
        == EXIT_BAD_CONFIG
    assert not (tmp_path / "reports").exists()


def test_net_new_window_must_fit_in_a_period(write_config):
    content = {"client": "acme", "as_of": "2025-12-31",
               "sources": {"shop": {"kind": "transactions", "path": "shop.csv",
                                    "columns": {"customer_key": "a", "order_date": "b",
                                                "amount": "c"}}},
               "differentiate": {"period": "quarter"}}
    with pytest.raises(ConfigError, match=r"net_new_days \(90\) must be shorter than a "
                                          r"quarter \(89 days"):
        load_config(write_config(content))
    content["differentiate"]["net_new_days"] = 30
    assert load_config(write_config(content)).differentiate.net_new_days == 30
