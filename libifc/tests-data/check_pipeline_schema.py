"""Validates documents against schema/pipeline.schema.json with the `jsonschema` package
(an independent JSON Schema 2020-12 implementation), for libifc's pipeline tests.

stdin:  {"schema": <path>, "documents": [<document>, ...]}
stdout: [{"valid": bool, "errors": [str, ...]}, ...]
"""
import json
import sys

import jsonschema


def main():
    request = json.load(sys.stdin)
    with open(request["schema"], encoding="utf-8") as f:
        schema = json.load(f)
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    results = []
    for document in request["documents"]:
        errors = sorted(
            "/".join(str(p) for p in e.absolute_path) + ": " + e.message for e in validator.iter_errors(document)
        )
        results.append({"valid": not errors, "errors": errors})
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
