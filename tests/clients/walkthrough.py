"""The README's restore walkthrough, driven through the Python client that
openapi-python-client generates from openapi/openapi.json.

Only the generated package's typed models and API functions are used: no
hand-written HTTP, no raw dictionaries as bodies. A response of an
unexpected type (an error model, or nothing because the document and the
service disagree) fails with the status and the body.

Usage: python walkthrough.py BASE_URL ADMIN_TOKEN
(the generated package `rrs_client` on PYTHONPATH).
"""

import datetime
import json
import sys
import time

from rrs_client import AuthenticatedClient
from rrs_client.api.evidence import (
    download_evidence_package,
    get_evidence,
    list_evidence_keys,
)
from rrs_client.api.execution import (
    execute_job,
    get_checkpoint,
    get_execution,
    get_rollback_journal,
    resume_job,
)
from rrs_client.api.index import (
    ingest_index_records,
    list_watermarks,
    publish_watermarks,
)
from rrs_client.api.jobs import create_job, get_job, list_job_events
from rrs_client.api.plans import dry_run_plan, get_plan, list_plan_rows
from rrs_client.api.targets import get_target_record, put_target_table
from rrs_client.models import (
    CheckpointDocBody,
    ColumnSpec,
    ColumnTypeName,
    CreateJobRequest,
    DryRunRequest,
    EvidencePackageBody,
    ExecutabilityName,
    ExecuteRequest,
    ExecutionBody,
    ExecutionPhaseName,
    GetEvidenceResponse404,
    GetEvidenceResponse404ReasonCode,
    IndexRecordUpsertRecord,
    IndexRecordUpsertRecordOp,
    IngestRecordsRequest,
    IngestRecordsResult,
    JobBody,
    JobEventPage,
    OutcomeName,
    PlanBody,
    PlanRowsPage,
    PublishWatermarksRequest,
    PublishWatermarksResult,
    PutTableRequest,
    ResumeRequest,
    RollbackJournalBody,
    ScopeBody,
    ScopeTableBody,
    SignatureVerification,
    SignerKeyPage,
    TargetTable,
    UpsertRecordPayload,
    WatermarkIn,
    WatermarkList,
)
from rrs_client.types import File

TENANT, INSTANCE, TABLE, TOPIC = "acme", "prod", "incident", "sn.acme.prod.incident"
PLAN_ID = "inc-42"
UTC = datetime.timezone.utc


def expect(step, response, model, statuses=(200,)):
    """The parsed body of `response`, which must be a `model` with one of
    `statuses`."""
    if response.status_code not in statuses or not isinstance(response.parsed, model):
        sys.exit(
            f"{step}: expected {model.__name__} with {statuses}, got "
            f"{int(response.status_code)} {type(response.parsed).__name__}: "
            f"{response.content[:2000]!r}"
        )
    print(f"ok {step}: {int(response.status_code)} {model.__name__}")
    return response.parsed


def check(step, condition, detail):
    if not condition:
        sys.exit(f"{step}: {detail}")


def main(base_url, token):
    client = AuthenticatedClient(base_url=base_url, token=token, raise_on_unexpected_status=False)

    # 1. The CDC sidecar feeds the backup index: versions, then a watermark.
    event_time = datetime.datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    for i in (1, 2, 3):
        payload = UpsertRecordPayload()
        payload["short_description"] = f"printer {i} on fire"
        record = IndexRecordUpsertRecord(
            tenant_id=TENANT,
            instance_id=INSTANCE,
            table=TABLE,
            sys_id=f"a{i}",
            op=IndexRecordUpsertRecordOp.UPSERT,
            event_time=event_time,
            topic=TOPIC,
            partition=0,
            offset=i,
            payload=payload,
        )
        result = expect(
            f"ingest a{i}",
            ingest_index_records.sync_detailed(client=client, body=IngestRecordsRequest(records=[record])),
            IngestRecordsResult,
        )
        check("ingest", result.accepted == 1, f"accepted {result.accepted}")
    now = datetime.datetime.now(UTC).replace(microsecond=0)
    published = expect(
        "publish watermark",
        publish_watermarks.sync_detailed(
            client=client,
            body=PublishWatermarksRequest(
                watermarks=[
                    WatermarkIn(
                        tenant_id=TENANT,
                        instance_id=INSTANCE,
                        topic=TOPIC,
                        partition=0,
                        watermark_time=now,
                    )
                ]
            ),
        ),
        PublishWatermarksResult,
    )
    check("publish watermark", published.accepted == 1, f"accepted {published.accepted}")
    marks = expect("list watermarks", list_watermarks.sync_detailed(client=client, tenant_id=TENANT, instance_id=INSTANCE), WatermarkList)
    check("list watermarks", len(marks.items) >= 1, "no watermark listed")

    # 2. The target instance (the embedded one): a writable table.
    table = expect(
        "put target table",
        put_target_table.sync_detailed(
            TENANT,
            INSTANCE,
            TABLE,
            client=client,
            body=PutTableRequest(
                columns=[ColumnSpec(name="short_description", type_=ColumnTypeName.STRING)],
                write_allowed=True,
            ),
        ),
        TargetTable,
    )
    check("put target table", table.write_allowed, "table not writable")

    # 3. Dry-run: an immutable plan and the gate's verdict.
    plan = expect(
        "dry-run",
        dry_run_plan.sync_detailed(
            client=client,
            body=DryRunRequest(
                plan_id=PLAN_ID,
                tenant_id=TENANT,
                instance_id=INSTANCE,
                pit=datetime.datetime(2026, 11, 20, 10, 0, tzinfo=UTC),
                scope=ScopeBody(tables=[ScopeTableBody(table=TABLE)]),
                chunk_size=1,
            ),
        ),
        PlanBody,
        statuses=(200, 201),
    )
    check(
        "dry-run",
        plan.gate.executability == ExecutabilityName.EXECUTABLE,
        f"gate says {plan.gate.executability} {plan.gate.reasons}",
    )
    check("dry-run", plan.summary.creates == 3, f"summary {plan.summary.to_dict()}")
    stored = expect("get plan", get_plan.sync_detailed(PLAN_ID, client=client), PlanBody)
    check("get plan", stored.plan_hash == plan.plan_hash, "plan hash changed")
    rows = expect("plan rows", list_plan_rows.sync_detailed(PLAN_ID, client=client, limit=10), PlanRowsPage)
    check("plan rows", sorted(r.sys_id for r in rows.items) == ["a1", "a2", "a3"], f"rows {rows.to_dict()}")

    # 4. A job locks the plan's tables.
    job = expect(
        "create job",
        create_job.sync_detailed(
            client=client,
            body=CreateJobRequest(plan_id=PLAN_ID, plan_hash=stored.plan_hash),
        ),
        JobBody,
        statuses=(201,),
    )
    job_id = job.job_id
    job = expect("get job", get_job.sync_detailed(job_id, client=client), JobBody)
    check("get job", job.plan_id == PLAN_ID, f"job of plan {job.plan_id}")

    # 5. Execute one chunk (202: paused), then resume from the checkpoint.
    paused = expect(
        "execute one chunk",
        execute_job.sync_detailed(job_id, client=client, body=ExecuteRequest(max_chunks=1)),
        ExecutionBody,
        statuses=(202,),
    )
    check("execute one chunk", paused.state == ExecutionPhaseName.PAUSED, f"state {paused.state}")
    checkpoint = expect("checkpoint", get_checkpoint.sync_detailed(job_id, client=client), CheckpointDocBody)
    check("checkpoint", checkpoint.next_chunk_index == 1, f"next chunk {checkpoint.next_chunk_index}")
    done = expect(
        "resume",
        resume_job.sync_detailed(
            job_id,
            client=client,
            body=ResumeRequest(
                expected_plan_checksum=checkpoint.plan_checksum,
                expected_precondition_checksum=checkpoint.precondition_checksum,
            ),
        ),
        ExecutionBody,
    )
    check("resume", done.state == ExecutionPhaseName.COMPLETED, f"state {done.state}")
    execution = expect("get execution", get_execution.sync_detailed(job_id, client=client), ExecutionBody)
    applied = [o for o in execution.row_outcomes if o.outcome == OutcomeName.APPLIED]
    check("get execution", len(applied) == 3, f"outcomes {[o.to_dict() for o in execution.row_outcomes]}")
    for i in (1, 2, 3):
        record = get_target_record.sync_detailed(TENANT, INSTANCE, TABLE, f"a{i}", client=client)
        check(f"target record a{i}", record.status_code == 200, f"status {int(record.status_code)}")

    # 6. What changed, how to roll it back, and the signed evidence.
    journal = expect(
        "rollback journal",
        get_rollback_journal.sync_detailed(job_id, client=client),
        RollbackJournalBody,
    )
    check("rollback journal", len(journal.rollback_journal) == 3, f"{len(journal.rollback_journal)} rows")
    events = expect("job events", list_job_events.sync_detailed(job_id, client=client), JobEventPage)
    check("job events", len(events.events) >= 3, f"{len(events.events)} events")
    # The automatic package is written just after the job ends: until then
    # the read answers 404 `evidence_not_found`, "retry shortly".
    for _ in range(60):
        response = get_evidence.sync_detailed(job_id, client=client)
        pending = isinstance(response.parsed, GetEvidenceResponse404) and (
            response.parsed.reason_code == GetEvidenceResponse404ReasonCode.EVIDENCE_NOT_FOUND
        )
        if not pending:
            break
        time.sleep(0.5)
    package = expect("evidence", response, EvidencePackageBody)
    verification = package.verification
    check(
        "evidence",
        verification.signature_verification == SignatureVerification.VERIFIED
        and all(c.passed for c in verification.checks),
        f"verification {verification.to_dict()}",
    )
    check("evidence", package.evidence.plan_hash == stored.plan_hash, "evidence of another plan")
    keys = expect("evidence keys", list_evidence_keys.sync_detailed(client=client), SignerKeyPage)
    signer = package.manifest_signature.signer_key_id
    check(
        "evidence keys",
        any(k.signer_key_id == signer for k in keys.items),
        f"signer {signer} not in {keys.to_dict()}",
    )
    file = expect(
        "evidence package file",
        download_evidence_package.sync_detailed(job_id, client=client),
        File,
    )
    offline = json.loads(file.payload.read())
    check(
        "evidence package file",
        json.dumps(offline).find(package.manifest_signature.signature) >= 0,
        "the file does not carry the package's signature",
    )
    print("walkthrough complete")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: walkthrough.py BASE_URL ADMIN_TOKEN")
    main(sys.argv[1], sys.argv[2])
