"""Checks the examples of an OpenAPI 3.0 document: every operation has an
example of its request body (when it takes one) and of its main success
response (when that has a body other than raw bytes), and every example in
a request or a response validates against its schema, `$ref`s resolved in
the document and `nullable` read as OpenAPI 3.0 means it.

Prints one line per problem and exits 1 when there is any.

Usage: python check_examples.py OPENAPI_JSON
(needs `jsonschema`, a dependency of openapi-spec-validator).
"""

import json
import sys
import urllib.parse

import jsonschema
import referencing
import referencing.jsonschema

ROOT = "urn:rrs:openapi"


def as_json_schema(value):
    """OpenAPI 3.0 schemas as JSON Schema (draft 4): `nullable: true`
    becomes an alternative of `null`. Example values are left alone."""
    if isinstance(value, list):
        return [as_json_schema(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: (v if k in ("example", "examples") else as_json_schema(v)) for k, v in value.items()}
    if out.pop("nullable", False) is True:
        return {"anyOf": [out, {"type": "null"}]}
    return out


def pointer(*segments):
    escaped = (urllib.parse.quote(s.replace("~", "~0").replace("/", "~1"), safe="") for s in segments)
    return ROOT + "#/" + "/".join(escaped)


def main(path):
    with open(path, encoding="utf-8") as f:
        document = json.load(f)
    if not document.get("openapi", "").startswith("3.0."):
        sys.exit(f"{path}: OpenAPI {document.get('openapi')}: this check reads 3.0 schemas")
    resource = referencing.jsonschema.DRAFT4.create_resource(as_json_schema(document))
    registry = referencing.Registry().with_resource(ROOT, resource)
    problems = []

    def check(label, example, *location):
        schema = {"$ref": pointer(*location, "schema")}
        validator = jsonschema.Draft4Validator(
            schema, registry=registry, format_checker=jsonschema.Draft4Validator.FORMAT_CHECKER
        )
        for error in validator.iter_errors(example):
            at = "/".join(str(p) for p in error.absolute_path) or "(root)"
            problems.append(f"{label}: example does not match its schema at {at}: {error.message[:300]}")

    for route, item in document["paths"].items():
        for method, operation in item.items():
            op = operation.get("operationId", f"{method} {route}")
            body = operation.get("requestBody")
            for media, content in (body or {}).get("content", {}).items():
                if "example" not in content:
                    problems.append(f"{op}: no request example ({media})")
                else:
                    check(f"{op} request", content["example"], "paths", route, method, "requestBody", "content", media)
            responses = operation.get("responses", {})
            main_status = next((s for s in sorted(responses) if s.startswith("2")), None)
            if main_status is None:
                problems.append(f"{op}: no success response")
            for status, response in responses.items():
                for media, content in response.get("content", {}).items():
                    raw_bytes = content.get("schema", {}).get("format") == "binary"
                    if "example" not in content:
                        if status == main_status and not raw_bytes:
                            problems.append(f"{op}: no example of its {status} response ({media})")
                        continue
                    check(f"{op} {status}", content["example"], "paths", route, method, "responses", status, "content", media)
    for problem in problems:
        print(problem)
    if problems:
        sys.exit(1)
    print("OK: every operation has its examples and every example matches its schema")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: check_examples.py OPENAPI_JSON")
    main(sys.argv[1])
