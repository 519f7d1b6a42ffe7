//! Handler tests: the SQS events under `events/`, run through the handler with
//! in-memory storage and dead-letter ports.

use aws_lambda_events::sqs::SqsEvent;
use lambda_runtime::{Context, LambdaEvent};
use shelver::fakes::{MemoryDeadLetters, MemoryStore};
use shelver::{GenreRoutes, Pipeline};
use shelver_consumer::{Error, handle};

type TestPipeline = Pipeline<MemoryStore, MemoryDeadLetters>;

fn pipeline() -> (TestPipeline, MemoryStore, MemoryDeadLetters) {
    let routes = GenreRoutes::parse(
        ("GENRE_BUCKETS", "scifi=shelf-scifi,romance=shelf-romance"),
        ("GENRE_ALIASES", None),
    )
    .expect("valid routes");
    let (store, letters) = (MemoryStore::default(), MemoryDeadLetters::default());
    (
        Pipeline::new(routes, store.clone(), letters.clone()),
        store,
        letters,
    )
}

fn event(fixture: &str) -> LambdaEvent<SqsEvent> {
    let payload = serde_json::from_str(fixture).expect("fixture is an SQS event");
    LambdaEvent::new(payload, Context::default())
}

fn failures(response: &aws_lambda_events::sqs::SqsBatchResponse) -> Vec<&str> {
    response
        .batch_item_failures
        .iter()
        .map(|failure| failure.item_identifier.as_str())
        .collect()
}

#[tokio::test]
async fn the_original_example_is_stored_and_an_unknown_genre_is_dead_lettered() {
    let (pipeline, store, letters) = pipeline();

    let response = handle(
        &pipeline,
        event(include_str!("../../../events/sqs-original-example.json")),
    )
    .await
    .expect("handled");

    assert_eq!(
        serde_json::to_string(&response).expect("serializes"),
        r#"{"batchItemFailures":[]}"#
    );
    let stored = store
        .body("shelf-romance", "LoremIpsum.json")
        .expect("LoremIpsum.json stored");
    let stored: serde_json::Value = serde_json::from_str(&stored).expect("stored JSON");
    assert_eq!(stored["year"], 1960);
    assert_eq!(stored["message_id"], "8f1a5b5e-4c4f-4a43-9a54-0d7e3b0c2a01");
    let parked = letters.letters();
    assert_eq!(parked.len(), 1);
    assert_eq!(parked[0].message_id, "8f1a5b5e-4c4f-4a43-9a54-0d7e3b0c2a02");
    assert_eq!(parked[0].group_id.as_deref(), Some("books"));
    assert!(
        parked[0].reason.contains(r#"unknown genre "horror""#),
        "{}",
        parked[0].reason
    );
}

#[tokio::test]
async fn a_transient_failure_reports_it_and_the_rest_of_its_group() {
    let (pipeline, store, _) = pipeline();
    store.fail_key("B.json");

    let response = handle(
        &pipeline,
        event(include_str!("../../../events/sqs-two-groups.json")),
    )
    .await
    .expect("handled");

    assert_eq!(
        failures(&response),
        [
            "b0000000-0000-4000-8000-00000000000b",
            "c0000000-0000-4000-8000-00000000000c"
        ]
    );
    assert!(store.body("shelf-scifi", "A.json").is_some());
    assert!(store.body("shelf-romance", "D.json").is_some());
    assert!(store.body("shelf-scifi", "C.json").is_none());
}

#[tokio::test]
async fn lenient_parsing_accepts_what_it_can_and_names_what_it_cannot() {
    let (pipeline, store, letters) = pipeline();

    let response = handle(
        &pipeline,
        event(include_str!("../../../events/sqs-lenient.json")),
    )
    .await
    .expect("handled");

    assert!(failures(&response).is_empty());
    assert!(
        store
            .body("shelf-scifi", "Capitalised Genre.json")
            .is_some()
    );
    assert!(
        store
            .body("shelf-scifi", "Numeric Year.json")
            .is_some_and(|b| b.contains("1960"))
    );
    assert!(
        store
            .body("shelf-scifi", "Extra Field.json")
            .is_some_and(|b| !b.contains("isbn"))
    );
    let parked = letters.letters();
    assert_eq!(parked.len(), 1);
    assert_eq!(
        parked[0].reason,
        "field `year` must be a whole number or a string holding one, found null"
    );
}

#[tokio::test]
async fn a_record_without_a_message_id_fails_the_invocation() {
    let (pipeline, store, _) = pipeline();

    let result = handle(
        &pipeline,
        event(include_str!("../../../events/sqs-missing-message-id.json")),
    )
    .await;

    assert!(matches!(result, Err(Error::MissingMessageId { index: 0 })));
    assert!(store.is_empty(), "nothing in the batch is processed");
}
