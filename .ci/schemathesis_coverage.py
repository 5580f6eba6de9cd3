"""Counts the operations of openapi/openapi.json that answered a 2xx in a
Schemathesis run (from its HAR report) and fails below a minimum, naming
the operations that never did.

Usage: python3 schemathesis_coverage.py OPENAPI_JSON HAR_FILE MINIMUM
"""

import json
import re
import sys
import urllib.parse


def operations(document):
    """(method, path template, compiled pattern) of every operation."""
    out = []
    for path, item in document["paths"].items():
        pattern = re.compile("^" + re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(path)) + "$")
        for method in item:
            out.append((method.upper(), path, pattern))
    return out


def main(openapi_path, har_path, minimum):
    with open(openapi_path, encoding="utf-8") as f:
        ops = operations(json.load(f))
    with open(har_path, encoding="utf-8") as f:
        entries = json.load(f)["log"]["entries"]
    reached = set()
    for entry in entries:
        status = entry["response"]["status"]
        if not 200 <= status < 300:
            continue
        method = entry["request"]["method"].upper()
        path = urllib.parse.urlsplit(entry["request"]["url"]).path
        for op_method, template, pattern in ops:
            if op_method == method and pattern.match(path):
                reached.add((op_method, template))
    # A concrete path can match two templates (`/a/{x}` and `/a/b`); the
    # literal one is the operation. Count it once either way.
    missing = [(m, p) for m, p, _ in ops if (m, p) not in reached]
    print(f"schemathesis coverage: {len(reached)} of {len(ops)} operations answered a 2xx ({len(entries)} requests)")
    for method, path in missing:
        print(f"  no 2xx: {method} {path}")
    if len(reached) < minimum:
        sys.exit(f"schemathesis coverage: {len(reached)} < {minimum} operations reached a 2xx")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: schemathesis_coverage.py OPENAPI_JSON HAR_FILE MINIMUM")
    main(sys.argv[1], sys.argv[2], int(sys.argv[3]))
