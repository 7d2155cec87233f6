"""What the benchmarks share: a database of their own, named after the configured one
(`<name>_bench_<what>`, so benches run from two checkouts never meet), created, migrated
and dropped around the measurement, with in-process requests not closing the worker's
connection and the sandbox's rate limits raised."""

import contextlib
import logging

from django.conf import settings
from django.core import signals
from django.db import close_old_connections, connection


def database_name(what):
    return f"{connection.settings_dict['NAME']}_bench_{what}"[:63]


@contextlib.contextmanager
def own_database(what, *, sandbox=False):
    old_name = connection.settings_dict["NAME"]
    old_test = dict(connection.settings_dict.get("TEST") or {})
    old = {name: getattr(settings, name, None) for name in (
        "SANDBOX_RATE_LIMIT_PER_MINUTE", "SANDBOX_RATE_LIMIT_BURST",
        "UI_RATE_LIMIT_PER_MINUTE", "SANDBOX_ENABLED")}
    connection.settings_dict.setdefault("TEST", {})["NAME"] = database_name(what)
    # A worker's connection is not a request's: in-process requests must not close it.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    logging.disable(logging.WARNING)
    if sandbox:
        settings.SANDBOX_RATE_LIMIT_PER_MINUTE = settings.SANDBOX_RATE_LIMIT_BURST = 1_000_000
        settings.UI_RATE_LIMIT_PER_MINUTE = 0  # Rally's shared bucket off: the limit is raised
        settings.SANDBOX_ENABLED = True
    try:
        connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        yield
    finally:
        connection.close()
        connection.creation.destroy_test_db(old_name, verbosity=0)
        connection.settings_dict["TEST"] = old_test
        for name, value in old.items():
            setattr(settings, name, value)
        logging.disable(logging.NOTSET)
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def recruit_with_applicants(client, *, study, name, participants, applicants, seed):
    """A recruit for `study` created through Rally's UI client, launched, approved by the
    sandbox's review and given `applicants` applicants (setup, not measured)."""
    from decimal import Decimal

    from recruitment.user_interviews.client import idempotency_key

    recruit = client.recruit_create(
        key=idempotency_key("create_recruit", study.pk), external_id=study.pk,
        internal_name=name, public_title=name, public_description="Bench",
        study_type="interview", num_participants=participants, duration_minutes=30,
        compensation=Decimal("50.00"), timezone="UTC",
        audience={"type": "b2c", "countries": ["US"], "usStates": [], "criteria": []},
        screener={"version": 1, "questions": []})
    client.recruit_launch(recruit.id, key=idempotency_key("launch_recruit", recruit.id))
    for path, body in ((f"_sandbox/recruits/{recruit.id}/review", {"outcome": "approve"}),
                       (f"_sandbox/recruits/{recruit.id}/applicants",
                        {"count": applicants, "seed": seed})):
        response = client.http.post(path, json=body)
        assert response.status_code < 300, response.text
    return recruit
