//! Listing: encoded queries, field selection, reference shapes, paging.

use serde_json::{json, Value};

use crate::common::Fake;

fn numbers(reply: &crate::common::Reply) -> Vec<String> {
    reply.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["number"].as_str().unwrap().to_owned())
        .collect()
}

/// The `rel` -> URL pairs of a `Link` header.
fn links(header: &str) -> Vec<(String, String)> {
    header
        .split(',')
        .map(|part| {
            let (url, rel) = part.split_once(";rel=").unwrap();
            let url = url.trim().trim_start_matches('<').trim_end_matches('>');
            (rel.trim_matches('"').to_owned(), url.to_owned())
        })
        .collect()
}

fn seed_incidents(fake: &Fake, count: usize) -> Vec<String> {
    let rows = (0..count)
        .map(|i| json!({"number": format!("INC{i:04}"), "priority": (i % 3).to_string()}))
        .collect();
    fake.seed("incident", rows)
        .into_iter()
        .map(|r| r["sys_id"].clone())
        .collect()
}

#[tokio::test]
async fn pages_carry_total_count_and_link_header() {
    let fake = Fake::start().await;
    seed_incidents(&fake, 25);
    let page = fake
        .get("/api/now/table/incident?sysparm_query=ORDERBYnumber&sysparm_limit=10&sysparm_offset=10")
        .await;
    assert_eq!(page.status, 200);
    assert_eq!(page.header("x-total-count"), Some("25"));
    assert_eq!(numbers(&page).first().map(String::as_str), Some("INC0010"));
    let rels = links(page.header("link").unwrap());
    let offset_of = |rel: &str| {
        let url = &rels.iter().find(|(r, _)| r == rel).unwrap().1;
        assert!(
            url.starts_with(&fake.url("/api/now/table/incident?")),
            "{url}"
        );
        assert!(
            url.contains("sysparm_query=ORDERBYnumber"),
            "other params echoed: {url}"
        );
        assert!(url.contains("sysparm_limit=10"), "{url}");
        url.split("sysparm_offset=")
            .nth(1)
            .unwrap()
            .split('&')
            .next()
            .unwrap()
            .to_owned()
    };
    assert_eq!(offset_of("first"), "0");
    assert_eq!(offset_of("prev"), "0");
    assert_eq!(offset_of("next"), "20");
    assert_eq!(offset_of("last"), "20");

    // Walking rel="next" from the first page visits every record once.
    let mut url = fake.url("/api/now/table/incident?sysparm_query=ORDERBYnumber&sysparm_limit=7");
    let mut seen = Vec::new();
    loop {
        let reply = fake
            .send(
                fake.client
                    .get(&url)
                    .basic_auth("admin", Some("admin-password")),
            )
            .await;
        seen.extend(numbers(&reply));
        let next = reply.header("link").and_then(|l| {
            links(l)
                .into_iter()
                .find(|(rel, _)| rel == "next")
                .map(|(_, u)| u)
        });
        match next {
            Some(next) => url = next,
            None => break,
        }
    }
    let expected: Vec<String> = (0..25).map(|i| format!("INC{i:04}")).collect();
    assert_eq!(seen, expected);

    let single = fake.get("/api/now/table/incident?sysparm_limit=100").await;
    assert_eq!(single.header("x-total-count"), Some("25"));
    assert_eq!(single.header("link"), None, "one page: no Link header");
}

#[tokio::test]
async fn encoded_queries_filter_and_sort() {
    let fake = Fake::start().await;
    let ids = seed_incidents(&fake, 6);
    let query = format!("sys_idIN{},{},{}^ORDERBYDESCnumber", ids[0], ids[2], ids[4]);
    let reply = fake
        .send(
            fake.request(reqwest::Method::GET, "/api/now/table/incident")
                .query(&[("sysparm_query", &query)]),
        )
        .await;
    assert_eq!(numbers(&reply), ["INC0004", "INC0002", "INC0000"]);
    assert_eq!(reply.header("x-total-count"), Some("3"));

    let both = fake
        .get("/api/now/table/incident?sysparm_query=priority=1^numberSTARTSWITHINC")
        .await;
    assert_eq!(numbers(&both), ["INC0001", "INC0004"]);
    let or = fake
        .get("/api/now/table/incident?sysparm_query=number=INC0000^ORnumber=INC0005")
        .await;
    assert_eq!(numbers(&or), ["INC0000", "INC0005"]);
    let plain = fake.get("/api/now/table/incident?priority=2").await;
    assert_eq!(numbers(&plain), ["INC0002", "INC0005"]);

    fake.insert(
        "incident",
        json!({"number": "INC9999", "description": "has one"}),
    )
    .await;
    let non_empty = fake
        .get("/api/now/table/incident?sysparm_query=descriptionISNOTEMPTY")
        .await;
    assert_eq!(numbers(&non_empty), ["INC9999"]);
    let ignored = fake
        .get("/api/now/table/incident?sysparm_query=no_such_field=1")
        .await;
    assert_eq!(
        ignored.header("x-total-count"),
        Some("7"),
        "unknown fields are ignored"
    );
}

#[tokio::test]
async fn reference_fields_are_link_objects_unless_excluded() {
    let fake = Fake::start().await;
    let user = fake.insert("sys_user", json!({"user_name": "fred"})).await;
    let user_id = user["sys_id"].as_str().unwrap();
    let incident = fake
        .insert("incident", json!({"caller_id": user_id, "number": "INC1"}))
        .await;
    let link = fake.url(&format!("/api/now/table/sys_user/{user_id}"));
    assert_eq!(
        incident["caller_id"],
        json!({"link": link, "value": user_id})
    );
    assert_eq!(
        incident["assigned_to"], "",
        "an empty reference is an empty string"
    );

    let path = format!(
        "/api/now/table/incident/{}",
        incident["sys_id"].as_str().unwrap()
    );
    let plain = fake
        .get(&format!(
            "{path}?sysparm_exclude_reference_link=true&sysparm_fields=sys_id,caller_id,bogus"
        ))
        .await;
    let result = plain.body["result"].as_object().unwrap();
    let keys: Vec<&String> = result.keys().collect();
    assert_eq!(keys, ["caller_id", "sys_id"]);
    assert_eq!(result["caller_id"], Value::from(user_id));
    let list = fake
        .get(
            "/api/now/table/incident?sysparm_exclude_reference_link=false&sysparm_fields=caller_id",
        )
        .await;
    assert_eq!(list.body["result"][0]["caller_id"]["value"], user_id);
}

#[tokio::test]
async fn limits_are_validated_and_clamped() {
    let fake = Fake::start().await;
    let bad = fake.get("/api/now/table/incident?sysparm_limit=abc").await;
    crate::common::assert_error(&bad, 400, "Invalid request");
    seed_incidents(&fake, 3);
    let huge = fake
        .get("/api/now/table/incident?sysparm_limit=50000")
        .await;
    assert_eq!(huge.body["result"].as_array().unwrap().len(), 3);
    let past_the_end = fake.get("/api/now/table/incident?sysparm_offset=10").await;
    assert_eq!(past_the_end.body["result"], json!([]));
    assert_eq!(past_the_end.header("x-total-count"), Some("3"));
}
