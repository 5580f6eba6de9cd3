//! Attachments: upload with hash check, lookup by content, lost answers.

use bytes::Bytes;
use rrs::target::{AttachmentKey, NewAttachment, Target, TargetError};
use rrs_fake_servicenow::FaultSpec;
use sha2::{Digest, Sha256};

use crate::support::{fake, seed_incidents, sys_id, target};

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn key<'a>(record: &'a str, file: &'a str, sha: &'a str) -> AttachmentKey<'a> {
    AttachmentKey {
        media_id: "m1",
        parent_table: "incident",
        parent_sys_id: record,
        file_name: file,
        sha256_plain: sha,
    }
}

fn new<'a>(key: AttachmentKey<'a>, bytes: &'static [u8], sha: &'a str) -> NewAttachment<'a> {
    NewAttachment {
        key,
        content_type: "text/plain",
        bytes: Bytes::from_static(bytes),
        sha256_plain: sha,
    }
}

#[tokio::test]
async fn an_attachment_is_written_once_and_found_by_its_content() {
    let fake = fake().await;
    let ids = seed_incidents(&fake, 1);
    let target = target(&fake, |_| {});
    let sha = sha256(b"hello");
    let stored = target
        .write_attachment(new(key(&ids[0], "a^b,c.txt", &sha), b"hello", &sha))
        .await
        .unwrap();
    assert_eq!(
        (stored.size_bytes, stored.sha256_plain.as_str()),
        (5, sha.as_str())
    );
    let found = target
        .find_attachment(&key(&ids[0], "a^b,c.txt", &sha))
        .await
        .unwrap();
    assert_eq!(found.as_ref().map(|f| &f.id), Some(&stored.id));
    let other = sha256(b"other");
    assert!(target
        .find_attachment(&key(&ids[0], "a^b,c.txt", &other))
        .await
        .unwrap()
        .is_none());
    assert!(target
        .find_attachment(&key(&ids[0], "b.txt", &sha))
        .await
        .unwrap()
        .is_none());
    let attachments = fake.handle.attachments();
    assert_eq!(attachments.len(), 1);
    assert_eq!(attachments[0].content, Bytes::from_static(b"hello"));
    assert_eq!(attachments[0].meta["content_type"], "text/plain");

    let wrong = target
        .write_attachment(new(key(&ids[0], "x.txt", &other), b"hello", &other))
        .await;
    assert!(
        matches!(wrong, Err(TargetError::Protocol(_))),
        "hash checked: {wrong:?}"
    );
    let missing = sys_id(77);
    let orphan = target
        .write_attachment(new(key(&missing, "x.txt", &sha), b"hello", &sha))
        .await;
    assert!(
        matches!(orphan, Err(TargetError::Refused { status: 404, .. })),
        "{orphan:?}"
    );
}

#[tokio::test]
async fn a_lost_upload_answer_is_not_retried_and_can_be_found() {
    let fake = fake().await;
    let ids = seed_incidents(&fake, 1);
    let target = target(&fake, |_| {});
    let sha = sha256(b"bytes");
    fake.handle.add_fault(FaultSpec::drop_after_apply(1));
    let lost = target
        .write_attachment(new(key(&ids[0], "f.bin", &sha), b"bytes", &sha))
        .await;
    assert!(
        matches!(&lost, Err(TargetError::Unavailable(m)) if m.contains("look the attachment up")),
        "{lost:?}"
    );
    assert_eq!(fake.handle.writes_seen(), 1);
    let found = target
        .find_attachment(&key(&ids[0], "f.bin", &sha))
        .await
        .unwrap();
    assert!(
        found.is_some(),
        "it was stored before the connection dropped"
    );
}
