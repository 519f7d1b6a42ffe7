//! `shelver-bench`: every benchmark scenario, side by side, against one
//! emulator in one run. `make bench` builds it in release mode, starts
//! LocalStack, runs it, and draws the chart; see `BENCHMARKS.md`.
//!
//! ```text
//! shelver-bench --python PATH --out DIR [--quick] [--only SCENARIO,...]
//! shelver-bench --render BENCHMARKS.json --out DIR
//! ```
//!
//! Each scenario has a warm-up and several runs, alternating the contenders
//! so drift in the machine's load hits them alike; it reports the median and
//! the spread (min to max).

// This is a terminal program: it reports progress on stderr.
#![allow(clippy::print_stderr)]

mod report;
mod scenarios;

use std::path::PathBuf;

use serde_json::{Value, json};

type Failure = Box<dyn std::error::Error>;

/// Median, minimum and maximum of a series of runs.
fn stats(runs: &[f64]) -> Value {
    let mut sorted = runs.to_vec();
    sorted.sort_by(f64::total_cmp);
    let median = match sorted.len() {
        0 => 0.0,
        n if n % 2 == 1 => sorted[n / 2],
        n => f64::midpoint(sorted[n / 2 - 1], sorted[n / 2]),
    };
    json!({
        "median": median,
        "min": sorted.first().copied().unwrap_or_default(),
        "max": sorted.last().copied().unwrap_or_default(),
        "runs": runs,
    })
}

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter()
        .position(|a| a == name)
        .and_then(|at| args.get(at + 1))
        .cloned()
}

#[tokio::main]
async fn main() -> Result<(), Failure> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `--render RESULTS.json`: rewrite the report from earlier results.
    if let Some(results) = flag(&args, "--render") {
        let out = PathBuf::from(flag(&args, "--out").unwrap_or_else(|| ".".into()));
        let results: Value = serde_json::from_str(&std::fs::read_to_string(results)?)?;
        std::fs::write(out.join("BENCHMARKS.md"), report::render(&results))?;
        return Ok(());
    }
    let python = PathBuf::from(flag(&args, "--python").ok_or("--python PATH is required")?);
    let out = PathBuf::from(flag(&args, "--out").unwrap_or_else(|| ".".into()));
    let quick = args.iter().any(|a| a == "--quick");
    let runs = if quick { 1 } else { 5 };
    let release = std::env::current_exe()?
        .parent()
        .ok_or("the benchmark runs from target/release")?
        .to_path_buf();

    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    eprintln!("bench: {cores} cores, {runs} run(s) per scenario");

    // `--only a,b` runs a subset (for profiling); the report wants them all.
    let only = flag(&args, "--only");
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|list| list.split(',').any(|n| n == name))
    };
    let skipped = || json!(null);
    let throughput = if wanted("throughput") {
        scenarios::throughput(runs, if quick { 500 } else { 2_000 }).await?
    } else {
        skipped()
    };
    let baselines = if wanted("baselines") {
        scenarios::baselines(runs, &python, if quick { 100 } else { 500 }).await?
    } else {
        skipped()
    };
    let latency = if wanted("latency") {
        scenarios::latency(if quick { 5 } else { 20 }).await?
    } else {
        skipped()
    };
    let cold_start = if wanted("cold_start") {
        scenarios::cold_start(&release, if quick { 3 } else { 10 }).await?
    } else {
        skipped()
    };
    let memory = if wanted("memory") {
        scenarios::memory(&release, if quick { 10 } else { 100 }).await?
    } else {
        skipped()
    };
    let sizes = scenarios::sizes(&release);

    let results = json!({
        "machine": {"cores": cores, "cpu": scenarios::cpu_model()},
        "throughput": throughput,
        "baselines": baselines,
        "latency": latency,
        "cold_start": cold_start,
        "memory": memory,
        "sizes": sizes,
    });
    std::fs::write(
        out.join("BENCHMARKS.json"),
        serde_json::to_string_pretty(&results)?,
    )?;
    std::fs::write(out.join("BENCHMARKS.md"), report::render(&results))?;
    eprintln!("bench: wrote {}", out.join("BENCHMARKS.md").display());
    Ok(())
}
