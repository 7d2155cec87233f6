"""The official JSON:API schema (npm `jsonapi-validator`, pinned in package.json and installed
by `make test`), as a validator for the documents the User Interviews sandbox answers."""

import copy
import json
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft6Validator

SCHEMA = (Path(__file__).resolve().parents[2] / "node_modules" / "jsonapi-validator" / "lib"
          / "schema.json")


@cache
def validator():
    if not SCHEMA.is_file():
        pytest.fail(f"The JSON:API schema is missing ({SCHEMA}): run `npm ci` (make test does "
                    "it).", pytrace=False)
    schema = copy.deepcopy(json.loads(SCHEMA.read_text()))
    # JSON:API 1.1: "a link MUST be represented as ... null if the link does not exist"; the
    # schema file allows null only for the named pagination links under its `pagination`
    # definition, and its `links` definition (which top-level links must also satisfy) not.
    schema["definitions"]["links"]["additionalProperties"] = {
        "oneOf": [{"$ref": "#/definitions/link"}, {"type": "null"}]}
    Draft6Validator.check_schema(schema)
    return Draft6Validator(schema)


def problems(document):
    """The schema's complaints about `document`, as readable lines (none: it is valid)."""
    return [f"{'/'.join(map(str, error.absolute_path)) or '/'}: {error.message[:300]}"
            for error in sorted(validator().iter_errors(document), key=str)]
