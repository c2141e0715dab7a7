"""The influx_* modules and timestream_influxdb_auth_parameters_info document exactly their options, with the types,
defaults, choices and no_log the argument spec has, and their seealso names modules that exist."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest
import yaml

from ansible_collections.ons.timestream_influxdb.plugins.doc_fragments.influxdb import ModuleDocFragment
from ansible_collections.ons.timestream_influxdb.plugins.module_utils.influxdb import influxdb_argument_spec

PACKAGE = "ansible_collections.ons.timestream_influxdb.plugins.modules."
INFLUX_MODULES = ["influx_auth", "influx_bucket", "influx_dbrp", "influx_org", "influx_user"]
MODULES_DIR = Path(__file__).resolve().parents[4] / "plugins" / "modules"


def _compare(documented: dict, spec: dict, where: str) -> None:
    assert set(documented) == set(spec), where
    for name, option in spec.items():
        doc = documented[name]
        assert doc.get("type", "str") == option.get("type", "str"), f"{where}.{name} type"
        assert doc.get("default") == option.get("default"), f"{where}.{name} default"
        assert doc.get("choices") == option.get("choices"), f"{where}.{name} choices"
        assert sorted(doc.get("aliases") or []) == sorted(option.get("aliases") or []), f"{where}.{name} aliases"
        assert bool(doc.get("required")) == bool(option.get("required")), f"{where}.{name} required"
        if option.get("options"):
            _compare(doc["suboptions"], option["options"], f"{where}.{name}")


@pytest.mark.parametrize("name", INFLUX_MODULES)
def test_influx_module_documents_its_argument_spec(name):
    module = importlib.import_module(PACKAGE + name)
    doc = yaml.safe_load(module.DOCUMENTATION)
    _compare(doc["options"], module.argument_spec(), name)
    assert "ons.timestream_influxdb.influxdb" in doc["extends_documentation_fragment"]
    for other in doc.get("seealso") or []:
        assert (MODULES_DIR / (other["module"].rsplit(".", 1)[1] + ".py")).is_file(), other


def test_connection_fragment_documents_the_connection_spec():
    _compare(yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"], influxdb_argument_spec(), "fragment")


def test_auth_parameters_info_documents_its_options():
    module = importlib.import_module(PACKAGE + "timestream_influxdb_auth_parameters_info")
    doc = yaml.safe_load(module.DOCUMENTATION)
    assert set(doc["options"]) == {"name", "id"}
    assert "ons.timestream_influxdb.attributes.info_module" in doc["extends_documentation_fragment"]
    returned = yaml.safe_load(module.RETURN)
    assert set(returned["auth_parameters"]["contains"]) == set(module.AUTH_PARAMETER_KEYS)
    assert set(returned["instance"]["contains"]) == {out for out, _key in module.INSTANCE_KEYS}
