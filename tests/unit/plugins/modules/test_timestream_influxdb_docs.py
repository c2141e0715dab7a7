"""Every timestream_influxdb module documents exactly its argument_spec; the options whose values
are an enumeration of the botocore model have no hard-coded choices and are checked against the
model of the client (so a value AWS adds works without a new release)."""

from __future__ import annotations

import importlib

import boto3
import pytest
import yaml

from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule

PACKAGE = "ansible_collections.ons.timestream_influxdb.plugins.modules."
MODULES = [
    "timestream_influxdb_instance",
    "timestream_influxdb_instance_info",
    "timestream_influxdb_parameter_group",
    "timestream_influxdb_parameter_group_info",
    "timestream_influxdb_backup",
    "timestream_influxdb_backup_info",
]
MODEL = boto3.client("timestream-influxdb", region_name="us-east-1").meta.service_model

# (module, option path) -> model shape whose enum the option's values are checked against
MODEL_CHOICES = {
    ("timestream_influxdb_instance", "db_instance_type"): "DbInstanceType",
    ("timestream_influxdb_instance", "db_storage_type"): "DbStorageType",
    ("timestream_influxdb_instance", "deployment_type"): "DeploymentType",
    ("timestream_influxdb_instance", "network_type"): "NetworkType",
    ("timestream_influxdb_instance", "db_backup_configurations.type"): "AutomatedDbBackupType",
    ("timestream_influxdb_backup", "network_type"): "NetworkType",
    ("timestream_influxdb_backup", "deployment_type"): "DeploymentType",
}


class _Captured(Exception):
    pass


def captured_spec(name, monkeypatch):
    """The argument_spec main() hands to AnsibleAWSModule (captured, main() stops there)."""
    module = importlib.import_module(PACKAGE + name)
    seen = {}

    def fake_init(self, **kwargs):
        seen.update(kwargs)
        raise _Captured()

    monkeypatch.setattr(AnsibleAWSModule, "__init__", fake_init)
    with pytest.raises(_Captured):
        module.main()
    return module, seen


def _walk(spec, prefix=""):
    for key, value in spec.items():
        yield prefix + key, value
        if value.get("options"):
            yield from _walk(value["options"], prefix + key + ".")


def _doc_options(doc):
    return doc.get("options") or {}


def _doc_walk(options, prefix=""):
    for key, value in options.items():
        yield prefix + key, value
        if value.get("suboptions"):
            yield from _doc_walk(value["suboptions"], prefix + key + ".")


FRAGMENT_OPTIONS = {"tags", "purge_tags"}  # documented by amazon.aws.tags where the fragment is used


@pytest.mark.parametrize("name", MODULES)
def test_documentation_matches_argument_spec(name, monkeypatch):
    module, seen = captured_spec(name, monkeypatch)
    doc = yaml.safe_load(module.DOCUMENTATION)
    yaml.safe_load(module.EXAMPLES)
    yaml.safe_load(module.RETURN)
    assert doc["module"] == name
    # a note written "Word: text" is a YAML mapping, which ansible-doc cannot render
    assert all(isinstance(note, str) for note in doc.get("notes", [])), doc.get("notes")
    documented = dict(_doc_walk(_doc_options(doc)))
    uses_tags_fragment = "amazon.aws.tags" in doc.get("extends_documentation_fragment", [])
    spec = dict(_walk(seen["argument_spec"]))
    for path, option in spec.items():
        if uses_tags_fragment and path in FRAGMENT_OPTIONS:
            continue
        assert path in documented, f"{name}: {path} is not documented"
        doc_option = documented[path]
        assert doc_option.get("type", "str") == option.get("type", "str"), path
        assert doc_option.get("default") == option.get("default"), path
        assert bool(doc_option.get("required")) == bool(option.get("required")), path
        assert doc_option.get("choices") == option.get("choices"), path
        assert doc_option.get("elements") == option.get("elements"), path
    for path in documented:
        assert path in spec, f"{name}: {path} is documented but not an option"


@pytest.mark.parametrize("key", sorted(MODEL_CHOICES))
def test_model_enums_are_not_hard_coded_but_checked_against_the_model(key, monkeypatch):
    from ansible_collections.ons.timestream_influxdb.plugins.module_utils import timestream_influxdb as ts

    name, path = key
    seen = captured_spec(name, monkeypatch)[1]
    spec = dict(_walk(seen["argument_spec"]))
    assert "choices" not in spec[path]
    shape = MODEL.shape_for(MODEL_CHOICES[key])
    with pytest.raises(ts.ValidationError) as err:
        ts.coerce_to_shape("db.nope", shape, path)
    assert str(err.value) == f"{path} must be one of {', '.join(shape.enum)}, got 'db.nope'"


def test_password_is_no_log(monkeypatch):
    seen = captured_spec("timestream_influxdb_instance", monkeypatch)[1]
    assert seen["argument_spec"]["password"]["no_log"] is True
    assert seen["supports_check_mode"] is True


@pytest.mark.parametrize("name", ["timestream_influxdb_instance", "timestream_influxdb_backup"])
def test_shared_options_come_from_module_utils(name, monkeypatch):
    """log_delivery_configuration and maintenance_schedule are defined once, in module_utils."""
    from ansible_collections.ons.timestream_influxdb.plugins.module_utils import timestream_influxdb as ts

    spec = captured_spec(name, monkeypatch)[1]["argument_spec"]
    assert spec["log_delivery_configuration"] == ts.log_delivery_configuration_spec()
    assert spec["maintenance_schedule"] == ts.maintenance_schedule_spec()


def test_retain_automated_backups_is_the_delete_member(monkeypatch):
    spec = captured_spec("timestream_influxdb_instance", monkeypatch)[1]["argument_spec"]
    assert spec["retain_automated_backups"] == {"type": "bool"}
    member = MODEL.operation_model("DeleteDbInstance").input_shape.members["retainAutomatedBackups"]
    assert member.type_name == "boolean"
