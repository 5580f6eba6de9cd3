"""Seeds a fresh service for Schemathesis (standard library only), so that
the operations it tests have something to find:

- captured versions of `acme`/`prod`/`incident` and `stateful`, with
  watermarks past them, so dry-runs of those tables are executable and have
  a chunk per record (`chunk_size` 1: an execution of one chunk pauses);
- those tables on the target, writable;
- plan `seed` of two records, restored by one job to the end, so reads of a
  plan, a finished job, its journal and its evidence answer 200;
- plan `seed-paused`, whose job applied one chunk and paused, so its
  checkpoint leads (by the document's link) to a resume that succeeds.

The jobs' ids are printed as `RRS_SEED_JOB_ID=...` and
`RRS_SEED_PAUSED_JOB_ID=...`, for .ci/schemathesis.toml.

Usage: python3 schemathesis_seed.py BASE_URL ADMIN_TOKEN
"""

import datetime
import json
import sys
import urllib.request

TENANT, INSTANCE = "acme", "prod"
# Records a table: `incident` for the seeded jobs, `stateful` for the
# dry-runs of the stateful phase (so its jobs do not queue behind them).
TABLES = {"incident": 20, "stateful": 3}


def call(base, token, method, path, body=None, expect=(200, 201)):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method=method)
    request.add_header("Authorization", f"Bearer {token}")
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, text = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, text = error.code, error.read().decode()
    if status not in expect:
        sys.exit(f"seed: {method} {path} answered {status}: {text[:1000]}")
    return json.loads(text) if text else None


def main(base, token):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    columns = {"columns": [{"name": "short_description", "type": "string"}], "write_allowed": True}
    for table, count in TABLES.items():
        topic = f"sn.{TENANT}.{INSTANCE}.{table}"
        records = [
            {
                "tenant_id": TENANT,
                "instance_id": INSTANCE,
                "table": table,
                "sys_id": f"a{i:03}",
                "op": "upsert",
                "event_time": "2026-11-20T09:00:00Z",
                "topic": topic,
                "partition": 0,
                "offset": i,
                "payload": {"short_description": f"printer {i} on fire"},
            }
            for i in range(1, count + 1)
        ]
        call(base, token, "POST", "/v1/index/records", {"records": records})
        mark = {"tenant_id": TENANT, "instance_id": INSTANCE, "topic": topic, "partition": 0, "watermark_time": now}
        call(base, token, "POST", "/v1/index/watermarks", {"watermarks": [mark]})
        call(base, token, "PUT", f"/v1/targets/{TENANT}/{INSTANCE}/tables/{table}", columns)
    # An attachment of a001, restored with it by the finished seed job.
    media = {
        "tenant_id": TENANT,
        "instance_id": INSTANCE,
        "media_id": "seed-media-1",
        "parent_table": "incident",
        "parent_sys_id": "a001",
        "file_name": "note.txt",
        "content_type": "text/plain",
        "event_time": "2026-11-20T09:00:00Z",
        "content_base64": "aGVsbG8=",
    }
    call(base, token, "POST", "/v1/index/media", {"media": [media]})
    done = restore(base, token, "seed", ["a001", "a002"], None, include_media=True)
    paused = restore(base, token, "seed-paused", [f"a{i:03}" for i in range(3, 21)], 1)
    # A drill schedule of `incident` into a sandbox that has the table.
    call(base, token, "PUT", f"/v1/targets/{TENANT}/sandbox/tables/incident", columns)
    schedule = {
        "source": {"tenant_id": TENANT, "instance_id": INSTANCE},
        "sandbox": {"tenant_id": TENANT, "instance_id": "sandbox"},
        "cron": "0 3 * * *",
        "tables": ["incident"],
    }
    drill = call(base, token, "POST", "/v1/admin/drills/schedules", schedule)
    print(f"RRS_SEED_JOB_ID={done}")
    print(f"RRS_SEED_PAUSED_JOB_ID={paused}")
    print(f"RRS_SEED_DRILL_SCHEDULE_ID={drill['schedule_id']}")


def restore(base, token, plan_id, sys_ids, max_chunks, include_media=False):
    """Plans a restore of `sys_ids` of `incident`, a chunk a record, creates
    its job and executes `max_chunks` of it (all when None); the job's id."""
    plan = call(
        base,
        token,
        "POST",
        "/v1/plans/dry-run",
        {
            "plan_id": plan_id,
            "tenant_id": TENANT,
            "instance_id": INSTANCE,
            "pit": "2026-11-20T10:00:00Z",
            "scope": {"tables": [{"table": "incident", "sys_ids": sys_ids}]},
            "chunk_size": 1,
            "include_media": include_media,
        },
    )
    if plan["gate"]["executability"] != "executable":
        sys.exit(f"seed: plan {plan_id} is not executable: {plan['gate']}")
    job = call(base, token, "POST", "/v1/jobs", {"plan_id": plan_id, "plan_hash": plan["plan_hash"]})
    execution = call(
        base, token, "POST", f"/v1/jobs/{job['job_id']}/execution", {"max_chunks": max_chunks}, expect=(200, 202)
    )
    want = "completed" if max_chunks is None else "paused"
    if execution["state"] != want:
        sys.exit(f"seed: job of plan {plan_id} is {execution['state']}, not {want}")
    return job["job_id"]

if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: schemathesis_seed.py BASE_URL ADMIN_TOKEN")
    main(sys.argv[1], sys.argv[2])
