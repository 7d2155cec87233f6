"""docker-compose.yml is valid by the Compose specification's own JSON schema (vendored in
docs/schemas/) and runs exactly the processes the production smoke test boots."""

import json
from pathlib import Path

import yaml
from jsonschema import Draft202012Validator

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "docs" / "schemas" / "compose-spec.json"


def _compose():
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_the_compose_file_is_valid_by_the_compose_specification():
    schema = json.loads(SCHEMA.read_text())
    Draft202012Validator.check_schema(schema)
    problems = [f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
                for error in Draft202012Validator(schema).iter_errors(_compose())]
    assert problems == []


def test_a_broken_compose_file_is_caught_by_the_schema():
    schema = json.loads(SCHEMA.read_text())
    broken = _compose()
    broken["services"]["web"]["ports"] = "8000"  # a list, by the specification
    broken["services"]["worker"]["restart_policy"] = "always"  # no such key
    found = {"/".join(map(str, error.absolute_path))
             for error in Draft202012Validator(schema).iter_errors(broken)}
    assert {"services/web/ports", "services/worker"} <= found


def test_compose_runs_the_smoke_tests_processes():
    services = _compose()["services"]
    assert set(services) == {"db", "redis", "web", "worker", "beat", "sandbox", "mail"}
    web, worker, beat, sandbox = (services[name] for name in ("web", "worker", "beat",
                                                              "sandbox"))
    assert "gunicorn rally.wsgi:application" in web["command"]
    assert "runserver" not in json.dumps(services)
    assert worker["command"].startswith("celery -A rally worker")
    assert beat["command"].startswith("celery -A rally beat")
    assert sandbox["command"].startswith("gunicorn rally.wsgi:application")
    assert services["mail"]["command"].startswith("python -m aiosmtpd")
    # Rally itself runs without DEBUG and without the sandbox; only the stand-in has them.
    for rally in (web, worker, beat):
        environment = rally["environment"]
        assert (environment["DEBUG"], environment["SANDBOX_ENABLED"]) == ("false", "false")
        assert environment["UI_API_KEY"] == ""  # each workspace connects its own account
    assert (sandbox["environment"]["DEBUG"], sandbox["environment"]["SANDBOX_ENABLED"]) == (
        "true", "true")
