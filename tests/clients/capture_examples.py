"""Captures the request and response examples of the OpenAPI document
(host/src/api/examples.json) from a running service (standard library only).

It starts the built `rrs` binary on a fresh data directory, drives the
README's walkthrough (ingest, watermark, target table, dry-run, job, execute
one chunk, resume, journal, events, evidence) and the token, admin, ops and
policy operations, and records, for each operation, the request body it
sent, the body of its success response and the body of one representative
error. Volatile values (ids, timestamps, hashes, signatures, keys, tokens)
are then replaced by fixed ones, in order of first appearance, and lists cut
to two items, so a second capture writes the same file.

Usage: python3 capture_examples.py PATH_TO_RRS_BINARY [OUTPUT_JSON]
(OUTPUT_JSON defaults to host/src/api/examples.json; then regenerate the
document with `RRS_UPDATE_OPENAPI=1 cargo test -p rrs-tests --test e2e openapi`).
"""

import datetime
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ADMIN = "rrs_example_admin_0000000000000000"
TENANT, INSTANCE, TABLE = "acme", "prod", "incident"
TARGET = f"/v1/targets/{TENANT}/{INSTANCE}/tables"
PIT = "2026-11-20T10:00:00Z"
STARTED = datetime.datetime.now(datetime.timezone.utc)
UNKNOWN_JOB = "job_0f1e2d3c4b5a49688776655443322110"


class Capture:
    def __init__(self, base):
        self.base = base
        self.examples = {}

    def call(self, op, method, path, body=None, token=ADMIN, expect=None, record=True, expect_any=None):
        """Sends a request; records the body sent and the one answered under
        `op` (the first of each status); fails unless the status is `expect`
        (any 2xx when None)."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base + path, data=data, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                status, raw = response.status, response.read()
                content_type = response.headers.get("Content-Type", "")
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
            content_type = error.headers.get("Content-Type", "")
        if expect_any is not None:
            if status not in expect_any:
                sys.exit(f"capture: {op}: {method} {path} answered {status}: {raw[:1000]!r}")
            return json.loads(raw) if 200 <= status < 300 else None
        ok = 200 <= status < 300 if expect is None else status == expect
        if not ok:
            sys.exit(f"capture: {op}: {method} {path} answered {status}: {raw[:1000]!r}")
        if "json" in content_type and raw:
            answer = json.loads(raw)
        elif content_type.startswith("text/"):
            answer = raw.decode()
        else:
            answer = None
        if record:
            example = self.examples.setdefault(op, {})
            if body is not None and 200 <= status < 300:
                example.setdefault("request", body)
            if answer is not None:
                responses = example.setdefault("responses", {})
                is_error = status >= 400
                if not (is_error and any(s >= "400" for s in responses)):
                    responses.setdefault(str(status), answer)
        return answer


def walkthrough(c):
    # Open operations.
    c.call("healthz", "GET", "/healthz")
    c.call("readyz", "GET", "/readyz")
    c.call("who_am_i", "GET", "/v1/auth/whoami")

    # 1. The CDC sidecar feeds the backup index: versions, attachments and a
    # watermark.
    def record(i):
        return {
            "tenant_id": TENANT,
            "instance_id": INSTANCE,
            "table": TABLE,
            "sys_id": f"a{i}",
            "op": "upsert",
            "event_time": "2026-11-20T09:00:00Z",
            "topic": f"sn.{TENANT}.{INSTANCE}.{TABLE}",
            "partition": 0,
            "offset": i,
            "payload": {"short_description": f"printer {i} on fire"},
        }

    c.call("ingest_index_records", "POST", "/v1/index/records", {"records": [record(1), record(2)]})
    c.call("ingest_index_records", "POST", "/v1/index/records", {"records": [record(3)]})
    media = {
        "tenant_id": TENANT,
        "instance_id": INSTANCE,
        "media_id": "m1",
        "parent_table": TABLE,
        "parent_sys_id": "a1",
        "file_name": "printer.txt",
        "content_type": "text/plain",
        "event_time": "2026-11-20T09:00:00Z",
        "content_base64": "b24gZmlyZQ==",
    }
    c.call("ingest_index_media", "POST", "/v1/index/media", {"media": [media]})
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    mark = {
        "tenant_id": TENANT,
        "instance_id": INSTANCE,
        "topic": f"sn.{TENANT}.{INSTANCE}.{TABLE}",
        "partition": 0,
        "watermark_time": now,
    }
    c.call("publish_watermarks", "POST", "/v1/index/watermarks", {"watermarks": [mark]})
    c.call("list_watermarks", "GET", f"/v1/index/watermarks?tenant_id={TENANT}&instance_id={INSTANCE}")

    # 2. The target: a writable table.
    table = {"columns": [{"name": "short_description", "type": "string"}], "write_allowed": True}
    c.call("put_target_table", "PUT", f"{TARGET}/{TABLE}", table)
    c.call("get_target_table", "GET", f"{TARGET}/{TABLE}")
    c.call("list_targets", "GET", "/v1/targets")

    # 3. Dry-run: the plan and the gate's verdict (201 new, 200 replayed).
    dry_run = {
        "plan_id": "inc-42",
        "tenant_id": TENANT,
        "instance_id": INSTANCE,
        "pit": PIT,
        "scope": {"tables": [{"table": TABLE}]},
        "chunk_size": 1,
        "include_media": True,
    }
    plan = c.call("dry_run_plan", "POST", "/v1/plans/dry-run", dry_run)
    c.call("dry_run_plan", "POST", "/v1/plans/dry-run", dry_run)
    c.call("get_plan", "GET", "/v1/plans/inc-42")
    c.call("list_plan_rows", "GET", "/v1/plans/inc-42/rows?limit=2")

    # 4. A job locks the plan's tables.
    job = c.call("create_job", "POST", "/v1/jobs", {"plan_id": "inc-42", "plan_hash": plan["plan_hash"]})
    job_id = job["job_id"]
    jobs = f"/v1/jobs/{job_id}"
    c.call("get_job", "GET", jobs)
    c.call("list_jobs", "GET", f"/v1/jobs?tenant_id={TENANT}&limit=2")

    # 5. Execute one chunk (202: paused), read the checkpoint, resume to the
    # end (200).
    c.call("execute_job", "POST", f"{jobs}/execution", {"max_chunks": 1})
    checkpoint = c.call("get_checkpoint", "GET", f"{jobs}/checkpoint")
    c.call("get_execution", "GET", f"{jobs}/execution?limit=2")
    resume = {
        "expected_plan_checksum": checkpoint["plan_checksum"],
        "expected_precondition_checksum": checkpoint["precondition_checksum"],
    }
    c.call("resume_job", "POST", f"{jobs}/resume", resume)

    # 6. What changed, how to roll it back, and the signed evidence.
    c.call("get_rollback_journal", "GET", f"{jobs}/rollback-journal?limit=1")
    c.call("list_job_events", "GET", f"{jobs}/events?limit=2")
    # The automatic package is generated in the background.
    for _ in range(100):
        if c.call("get_evidence", "GET", f"{jobs}/evidence", expect_any=(200, 404), record=False) is not None:
            break
        time.sleep(0.1)
    c.call("get_evidence", "GET", f"{jobs}/evidence")
    c.call("export_evidence", "POST", f"{jobs}/evidence/export")
    c.call("download_evidence_package", "GET", f"{jobs}/evidence/package")
    c.call("list_evidence_keys", "GET", "/v1/evidence/keys?limit=2")

    # The restored target: a record, its attachment, a live change.
    c.call("get_target_record", "GET", f"{TARGET}/{TABLE}/records/a1")
    c.call("get_target_media", "GET", f"{TARGET}/{TABLE}/media/m1")
    live = {"payload": {"short_description": "printer fixed"}}
    c.call("put_target_record", "PUT", f"{TARGET}/{TABLE}/records/scratch-1", live)
    c.call("delete_target_record", "DELETE", f"{TARGET}/{TABLE}/records/scratch-1")

    # A second job, executed to the end in one call (200), and a third,
    # ended by an operator before it runs.
    def plan_and_job(plan_id, sys_id):
        body = dict(dry_run, plan_id=plan_id, scope={"tables": [{"table": TABLE, "sys_ids": [sys_id]}]})
        body.pop("include_media")
        plan = c.call("dry_run_plan", "POST", "/v1/plans/dry-run", body, record=False)
        return c.call("create_job", "POST", "/v1/jobs", {"plan_id": plan_id, "plan_hash": plan["plan_hash"]}, record=False)

    whole = plan_and_job("inc-43", "a3")
    c.call("execute_job", "POST", f"/v1/jobs/{whole['job_id']}/execution", {}, expect=200)
    job2 = plan_and_job("inc-44", "a2")
    cancel = {"status": "cancelled", "actor": "alice", "note": "restored by hand instead"}
    c.call("complete_job", "POST", f"/v1/jobs/{job2['job_id']}/complete", cancel)

    # Undo: a plan reverting the first job; the second found every record
    # already restored and wrote nothing (409).
    c.call("undo_plan", "POST", f"{jobs}/undo-plan", {"plan_id": "undo-42"})
    c.call("undo_plan", "POST", f"{jobs}/undo-plan", {"plan_id": "undo-42"})
    c.call("undo_plan", "POST", f"/v1/jobs/{whole['job_id']}/undo-plan", {}, expect=409)

    # Tokens.
    issued = c.call(
        "create_token",
        "POST",
        "/v1/auth/tokens",
        {"operator_id": "alice", "capabilities": ["restore_read", "restore_plan"], "tenants": [TENANT], "ttl_seconds": 86400},
    )
    c.call("revoke_token", "DELETE", f"/v1/auth/tokens/{issued['token_id']}")

    # Policies and operations.
    c.call("list_policies", "GET", "/v1/policies")
    c.call("list_policy_decisions", "GET", "/v1/policies/decisions?kind=gate&limit=2")
    c.call("list_policy_decisions", "GET", "/v1/policies/decisions?kind=nope", expect=400)
    c.call("get_policy_shadow", "GET", "/v1/policies/shadow")
    c.call("reload_policies", "POST", "/v1/admin/policies/reload")
    c.call("get_tenant_entitlement", "GET", f"/v1/admin/tenants/{TENANT}/entitlement")
    entitlement = {"restore_enabled": True, "actor": "alice"}
    c.call("set_tenant_entitlement", "PUT", f"/v1/admin/tenants/{TENANT}/entitlement", entitlement)
    c.call("prune_journal", "POST", "/v1/admin/journal/prune", {"actor": "alice", "dry_run": True})
    drill = {"drill_id": "crash_resume", "status": "pass", "actor": "alice", "notes": "replica killed mid-execution; job resumed"}
    c.call("record_failure_drill", "POST", "/v1/admin/ops/failure-drills", drill)
    c.call("list_failure_drills", "GET", "/v1/admin/ops/failure-drills")
    c.call("set_runbooks_signoff", "POST", "/v1/admin/ops/runbooks-signoff", {"signed_off": True, "actor": "alice"})
    c.call("get_runbooks_signoff", "GET", "/v1/admin/ops/runbooks-signoff")
    c.call("set_staging_mode", "POST", "/v1/admin/ops/staging-mode", {"enabled": False, "actor": "alice"})
    c.call("get_staging_mode", "GET", "/v1/admin/ops/staging-mode")
    c.call("get_ga_readiness", "GET", "/v1/admin/ops/ga-readiness")
    c.call("get_journal_growth", "GET", "/v1/admin/ops/journal-growth")
    c.call("get_ops_slo", "GET", "/v1/admin/ops/slo")
    c.call("list_ops_audit", "GET", "/v1/admin/ops/audit?limit=2")
    c.call("metrics", "GET", "/metrics")

    # Restore drills: a schedule into a sandbox, a run by hand (skipped: the
    # example backup's watermark is days old), the runs, the deletion.
    c.call("put_target_table", "PUT", f"/v1/targets/{TENANT}/sandbox/tables/{TABLE}", table, record=False)
    drill_schedule = {
        "source": {"tenant_id": TENANT, "instance_id": INSTANCE},
        "sandbox": {"tenant_id": TENANT, "instance_id": "sandbox"},
        "cron": "0 3 * * *",
        "tables": [TABLE],
        "sample_per_table": 100,
        "retention_days": 90,
    }
    created_schedule = c.call("create_drill_schedule", "POST", "/v1/admin/drills/schedules", drill_schedule, expect=201)
    schedule_path = f"/v1/admin/drills/schedules/{created_schedule['schedule_id']}"
    c.call("list_drill_schedules", "GET", "/v1/admin/drills/schedules")
    c.call("get_drill_schedule", "GET", schedule_path)
    c.call("run_drill_schedule", "POST", f"{schedule_path}/run", expect=200)
    c.call("list_drill_runs", "GET", "/v1/admin/drills/runs?limit=10")
    c.call("delete_drill_schedule", "DELETE", schedule_path, expect=204)
    # Measured figures vary from run to run: fixed values in the examples.
    measured = {"restore_ms": 10, "rows_per_second": 300.0, "recovery_point_seconds": 0.5, "sample_seed": 42}
    for run in [c.examples["run_drill_schedule"]["responses"]["200"]] + c.examples["list_drill_runs"]["responses"]["200"]["items"]:
        run.update({k: v for k, v in measured.items() if run.get(k) is not None})

    # One representative error per operation: a conflict or an unknown id
    # where the operation has one, else a call without credentials.
    c.call("dry_run_plan", "POST", "/v1/plans/dry-run", dict(dry_run, pit="2026-11-20T11:00:00Z"), expect=409)
    c.call("create_job", "POST", "/v1/jobs", {"plan_id": "inc-42", "plan_hash": "0" * 64}, expect=409)
    c.call("complete_job", "POST", f"/v1/jobs/{job2['job_id']}/complete", cancel, expect=409)
    c.call("execute_job", "POST", f"{jobs}/execution", {"max_chunks": 1}, expect=409)
    c.call("resume_job", "POST", f"/v1/jobs/{UNKNOWN_JOB}/resume", resume, expect=404)
    unknown_job = f"/v1/jobs/{UNKNOWN_JOB}"
    for op, method, suffix in [
        ("get_job", "GET", ""),
        ("get_checkpoint", "GET", "/checkpoint"),
        ("get_execution", "GET", "/execution"),
        ("get_rollback_journal", "GET", "/rollback-journal"),
        ("list_job_events", "GET", "/events"),
        ("get_evidence", "GET", "/evidence"),
        ("export_evidence", "POST", "/evidence/export"),
        ("download_evidence_package", "GET", "/evidence/package"),
    ]:
        c.call(op, method, unknown_job + suffix, expect=404)
    c.call("get_plan", "GET", "/v1/plans/inc-404", expect=404)
    c.call("list_plan_rows", "GET", "/v1/plans/inc-404/rows", expect=404)
    c.call("get_target_table", "GET", f"{TARGET}/problem", expect=404)
    c.call("put_target_record", "PUT", f"{TARGET}/problem/records/a1", live, expect=404)
    c.call("get_target_record", "GET", f"{TARGET}/{TABLE}/records/a404", expect=404)
    c.call("delete_target_record", "DELETE", f"{TARGET}/{TABLE}/records/a404", expect=404)
    c.call("get_target_media", "GET", f"{TARGET}/{TABLE}/media/m404", expect=404)
    c.call("revoke_token", "DELETE", "/v1/auth/tokens/tok-404", expect=404)
    for op, method, suffix in [
        ("get_drill_schedule", "GET", ""),
        ("delete_drill_schedule", "DELETE", ""),
        ("run_drill_schedule", "POST", "/run"),
    ]:
        c.call(op, method, "/v1/admin/drills/schedules/drs-404" + suffix, expect=404)
    unauthenticated = [
        ("who_am_i", "GET", "/v1/auth/whoami", None),
        ("create_token", "POST", "/v1/auth/tokens", None),
        ("ingest_index_records", "POST", "/v1/index/records", None),
        ("ingest_index_media", "POST", "/v1/index/media", None),
        ("publish_watermarks", "POST", "/v1/index/watermarks", None),
        ("list_watermarks", "GET", f"/v1/index/watermarks?tenant_id={TENANT}&instance_id={INSTANCE}", None),
        ("put_target_table", "PUT", f"{TARGET}/{TABLE}", table),
        ("list_targets", "GET", "/v1/targets", None),
        ("list_jobs", "GET", "/v1/jobs", None),
        ("list_evidence_keys", "GET", "/v1/evidence/keys", None),
        ("list_policies", "GET", "/v1/policies", None),
        ("reload_policies", "POST", "/v1/admin/policies/reload", None),
        ("get_tenant_entitlement", "GET", f"/v1/admin/tenants/{TENANT}/entitlement", None),
        ("set_tenant_entitlement", "PUT", f"/v1/admin/tenants/{TENANT}/entitlement", None),
        ("prune_journal", "POST", "/v1/admin/journal/prune", None),
        ("record_failure_drill", "POST", "/v1/admin/ops/failure-drills", None),
        ("list_failure_drills", "GET", "/v1/admin/ops/failure-drills", None),
        ("set_runbooks_signoff", "POST", "/v1/admin/ops/runbooks-signoff", None),
        ("get_runbooks_signoff", "GET", "/v1/admin/ops/runbooks-signoff", None),
        ("set_staging_mode", "POST", "/v1/admin/ops/staging-mode", None),
        ("get_staging_mode", "GET", "/v1/admin/ops/staging-mode", None),
        ("get_ga_readiness", "GET", "/v1/admin/ops/ga-readiness", None),
        ("get_journal_growth", "GET", "/v1/admin/ops/journal-growth", None),
        ("get_ops_slo", "GET", "/v1/admin/ops/slo", None),
        ("list_ops_audit", "GET", "/v1/admin/ops/audit", None),
        ("create_drill_schedule", "POST", "/v1/admin/drills/schedules", None),
        ("list_drill_schedules", "GET", "/v1/admin/drills/schedules", None),
        ("list_drill_runs", "GET", "/v1/admin/drills/runs", None),
    ]
    for op, method, path, body in unauthenticated:
        request = c.examples.get(op, {}).get("request") if body is None else body
        c.call(op, method, path, request, token=None, expect=401)


# Values that differ between runs, replaced in order of first appearance.
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PREFIXED_ID = re.compile(r"\b([a-z]+[_-])([0-9a-f]{16,32})\b")
HEX = re.compile(r"\b[0-9a-f]{64}\b")
TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})")
FIXED_TIMES = {"2026-11-20T09:00:00Z", "2026-11-20T10:00:00Z", "2026-11-20T11:00:00Z"}
# Fields whose values are keys, signatures or other opaque per-run bytes.
OPAQUE = {"signature", "signature_base64", "public_key_pem", "public_key", "signer_public_key_pem"}


def normalise(examples):
    seen = {}

    def fixed(kind, value, make):
        key = (kind, value)
        if key not in seen:
            seen[key] = make(sum(1 for k in seen if k[0] == kind) + 1)
        return seen[key]

    def string(s):
        s = UUID.sub(lambda m: fixed("uuid", m.group(), lambda n: f"3f6c1a2e-8b4d-4e7a-9c1f-{n:012x}"), s)
        s = PREFIXED_ID.sub(
            lambda m: fixed("id", m.group(), lambda n: m.group(1) + example_hex(n, len(m.group(2)))),
            s,
        )
        s = HEX.sub(lambda m: fixed("hex", m.group(), lambda n: hashlib.sha256(f"rrs example {n}".encode()).hexdigest()), s)
        s = TIME.sub(
            lambda m: m.group()
            if m.group() in FIXED_TIMES
            else fixed("time", m.group(), lambda n: example_time(m.group(), n)),
            s,
        )
        return s

    def walk(value, key=None):
        if isinstance(value, dict):
            return {k: walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value[:2]]
        if isinstance(value, str):
            if key == "token":
                return fixed("token", value, lambda n: f"rrs_example_token_{n:04}_not_a_real_token")
            if key in OPAQUE:
                return fixed("opaque", value, lambda n: opaque(value, n))
            return string(value)
        return value

    return {op: walk(examples[op]) for op in sorted(examples)}


def example_hex(n, length):
    return hashlib.md5(f"rrs example {n}".encode()).hexdigest()[:length]


def example_time(value, n):
    """The n-th timestamp of the run, a second apart from 10:05 on; one
    more than a day from the run keeps its distance in whole days (a
    retention, an expiry)."""
    t = datetime.datetime.fromisoformat(value)
    days = round((t - STARTED).total_seconds() / 86400)
    base = datetime.datetime(2026, 11, 20, 10, 5, tzinfo=datetime.timezone.utc)
    if days:
        return (base + datetime.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")
    return (base + datetime.timedelta(seconds=n)).strftime("%Y-%m-%dT%H:%M:%SZ")


# Not a key: "example-public-key-not-a-real-key!" in a PEM's clothes.
EXAMPLE_PUBLIC_KEY = (
    "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAZXhhbXBsZS1wdWJsaWMta2V5LW5vdC1hLXJlYWwta2V5IQ==\n-----END PUBLIC KEY-----\n"
)


def opaque(value, n):
    if "BEGIN PUBLIC KEY" in value:
        return EXAMPLE_PUBLIC_KEY
    return hashlib.sha512(f"rrs example signature {n}".encode()).hexdigest()


def metrics_sample(text):
    """Two families of the exposition whose values do not vary."""
    out = []
    for family in ("rrs_ga_ready", "rrs_slo_status"):
        lines = [line for line in text.splitlines() if re.match(rf"(# (HELP|TYPE) )?{family}\b", line)]
        out += sorted(lines, key=lambda line: (not line.startswith("# HELP"), not line.startswith("# TYPE"), line))
    return "\n".join(out) + "\n"


def main(binary, output):
    with tempfile.TemporaryDirectory() as work:
        env = dict(
            os.environ,
            RRS_DATA_DIR=os.path.join(work, "data"),
            RRS_LISTEN_ADDR="127.0.0.1:0",
            RRS_AUTH_BOOTSTRAP_TOKEN=ADMIN,
            RRS_LOG_FORMAT="text",
        )
        err_path = os.path.join(work, "err.log")
        with open(err_path, "w") as err:
            service = subprocess.Popen([binary, "serve"], env=env, stdout=subprocess.DEVNULL, stderr=err)
        try:
            base = None
            for _ in range(300):
                with open(err_path) as log:
                    found = re.search(r"listening on (http://[0-9.:]+)", log.read())
                if found:
                    base = found.group(1)
                    break
                if service.poll() is not None:
                    with open(err_path) as log:
                        sys.exit(log.read())
                time.sleep(0.1)
            if base is None:
                sys.exit("capture: the service did not start")
            capture = Capture(base)
            walkthrough(capture)
        finally:
            service.terminate()
            service.wait()
    examples = capture.examples
    examples["metrics"]["responses"]["200"] = metrics_sample(examples["metrics"]["responses"]["200"])
    with open(output, "w", encoding="utf-8") as f:
        json.dump(normalise(examples), f, indent=2, ensure_ascii=False, sort_keys=False)
        f.write("\n")


if __name__ == "__main__":
    if len(sys.argv) not in (2, 3):
        sys.exit("usage: capture_examples.py PATH_TO_RRS_BINARY [OUTPUT_JSON]")
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    main(sys.argv[1], sys.argv[2] if len(sys.argv) == 3 else os.path.join(root, "host/src/api/examples.json"))
