"""The outbox's handlers and the webhook events' processing are each one table, written out in
recruitment.operations (DESIGN: no behaviour depends on which modules were imported): every
handler and every event processor the recruitment package defines is in its table."""

import importlib
import pkgutil

import recruitment
from recruitment import operations
from recruitment.handlers import Handler


def _module_globals():
    for module in pkgutil.walk_packages(recruitment.__path__, "recruitment."):
        if ".migrations" in module.name:
            continue
        yield from vars(importlib.import_module(module.name)).items()


def test_every_handler_defined_is_in_the_table_under_its_own_name():
    defined = {id(value): value for _, value in _module_globals() if isinstance(value, Handler)}
    assert len(defined) == len(operations.HANDLERS) == 16
    assert {id(handler) for handler in operations.HANDLERS.values()} == set(defined)
    assert all(name == handler.operation for name, handler in operations.HANDLERS.items())


def test_every_event_processor_defined_is_in_the_table():
    processors = {value for name, value in _module_globals()
                  if callable(value) and name.endswith("_event_process")
                  and name != "webhook_event_process"}
    assert processors == set(operations.EVENT_PROCESSORS.values())
    assert operations.label("create_payment") == "pay the incentive through User Interviews"
    assert operations.label("something_new") == "something new"
