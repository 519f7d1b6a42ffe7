//! The local run's helper: what it reports for each record matches what the
//! consumer actually did.

// Tests and their helpers fail by panicking.
#![allow(clippy::panic)]

use serde_json::json;
use shelver::GenreRoutes;
use shelver_local::whereabouts::{Whereabouts, locate};
use shelver_tests::emulator::Stack;
use shelver_tests::lambda_host::LambdaHost;

fn book(id: &str, title: &str, genre: &str) -> String {
    json!({"id": id, "title": title, "author": "A", "year": 2000, "genre": genre, "summary": "S"})
        .to_string()
}

#[tokio::test]
async fn the_report_says_where_each_record_really_went() {
    let stack = Stack::new("whereabouts").await;
    let long_title = "L".repeat(1016);
    let sent = [
        ("first", book("1", "Y", "scifi")),
        ("lookalike", book("9", "Y [2]", "scifi")),
        ("second", book("2", "Y", "scifi")),
        // The same book again; an ignored field gets it past deduplication.
        (
            "again",
            book("1", "Y", "scifi").replace('{', r#"{"resent":true,"#),
        ),
        ("horror", book("3", "Z", "horror")),
        ("long", book("4", &long_title, "scifi")),
        ("long-other", book("5", &long_title, "scifi")),
    ];
    let mut ids = Vec::new();
    for (_, body) in &sent {
        ids.push(stack.send("one-group", body).await);
    }
    let function =
        LambdaHost::start("shelver-consumer", &stack.function_env(&stack.endpoint)).await;
    let routes = GenreRoutes::parse(
        ("GENRE_BUCKETS", &stack.resources.genre_buckets()),
        ("GENRE_ALIASES", None),
    )
    .expect("valid routes");
    let mapping = stack.mapping();

    let mut found = Vec::new();
    while let Some(delivery) = mapping.poll_once(&function).await.expect("poll") {
        for record in &delivery.records {
            let retried = delivery
                .retried
                .iter()
                .any(|id| Some(id) == record.message_id.as_ref());
            let whereabouts = locate(&stack.s3, &routes, record, retried, Some(5)).await;
            found.push((record.message_id.clone().unwrap_or_default(), whereabouts));
        }
    }

    let scifi = stack.bucket("scifi").to_owned();
    let stored = |key: &str| Whereabouts::Stored {
        bucket: scifi.clone(),
        key: key.into(),
    };
    let expected = [
        stored("Y.json"),
        stored("Y [2].json"),
        stored("Y [2] (2).json"),
        Whereabouts::AlreadyStored {
            bucket: scifi.clone(),
            key: "Y.json".into(),
        },
        Whereabouts::DeadLettered {
            reason: Some(
                r#"field `genre` names unknown genre "horror"; known genres: romance, scifi"#
                    .into(),
            ),
        },
        stored(&format!("{long_title}.json")),
        Whereabouts::DeadLettered { reason: None },
    ];
    assert_eq!(found.len(), expected.len());
    for ((id, whereabouts), (expected_id, expected)) in found.iter().zip(ids.iter().zip(expected)) {
        assert_eq!(id, expected_id, "queue order");
        assert_eq!(whereabouts, &expected, "{}", &id);
    }
    let parked = stack.dead_letters().await;
    assert_eq!(parked.len(), 2);
    assert!(
        parked[1].attributes["ErrorReason"].contains("more than S3's 1024"),
        "{:?}",
        parked[1].attributes
    );
}
