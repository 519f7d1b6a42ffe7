//! `hot-path`: runs records through the pipeline with in-memory storage and
//! dead-letter ports, so that only Shelver's own work remains: the target for
//! an instruction-level profile.
//!
//! ```text
//! cargo build --profile profiling -p shelver-bench --bin hot-path
//! valgrind --tool=callgrind target/profiling/hot-path 2000
//! ```

use shelver::fakes::{MemoryDeadLetters, MemoryStore};
use shelver::{GenreRoutes, Pipeline, Record};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), shelver::Error> {
    let records: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000);
    let routes = GenreRoutes::parse(
        ("GENRE_BUCKETS", "scifi=shelf-scifi,romance=shelf-romance"),
        ("GENRE_ALIASES", None),
    )?;
    let pipeline = Pipeline::new(routes, MemoryStore::default(), MemoryDeadLetters::default());

    let batch: Vec<Record> = (0..records)
        .map(|n| Record {
            message_id: format!("00000000-0000-4000-8000-{n:012}"),
            group_id: Some(format!("g{}", n % 50)),
            sequence_number: Some(format!("{}", 18_000_000_000_000_000_000_u128 + n as u128)),
            body: format!(
                r#"{{"id":"{n}","title":"Book {n:05}","author":"Author {}","year":"19{:02}","genre":"{}","summary":"A summary about as long as a real one, so that parsing, hashing and writing have their usual work to do."}}"#,
                n % 50,
                n % 100,
                if n % 2 == 0 { "Sci-Fi" } else { "romance" },
            ),
            ..Record::default()
        })
        .collect();
    for chunk in batch.chunks(10) {
        pipeline.process_batch(chunk, None).await;
    }
    Ok(())
}
