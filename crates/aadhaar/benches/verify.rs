//! Parse + verify of a realistic signed e-Aadhaar (about 100 KB, most of it the photo).
//! Run: `cargo bench -p aadhaar --bench verify`. Results are in BENCHMARKS.md.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use std::path::Path;

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench(c: &mut Criterion) {
    let xml = fixture("e-aadhaar-signed.xml");
    let root = String::from_utf8(fixture("root.pem")).unwrap_or_default();
    let anchors = aadhaar::TrustAnchors::from_pem(&root).unwrap_or_else(|e| panic!("{e}"));
    // Fail loudly rather than benchmark the error path.
    if let Err(e) = aadhaar::verify_and_parse(&xml, &anchors) {
        panic!("the benchmark fixture does not verify: {e}");
    }

    let mut g = c.benchmark_group("e-aadhaar");
    g.throughput(Throughput::Bytes(xml.len() as u64));
    g.bench_function("verify_and_parse", |b| {
        b.iter(|| aadhaar::verify_and_parse(black_box(&xml), &anchors))
    });
    g.bench_function("parse_unverified", |b| {
        b.iter(|| aadhaar::parse_unverified(black_box(&xml)))
    });
    g.bench_function("verify_and_parse+to_contract", |b| {
        b.iter(|| {
            aadhaar::verify_and_parse(black_box(&xml), &anchors).map(|v| {
                v.aadhaar
                    .to_contract(true, "https://gw.example/x", "2026-11-25T19:06:28+05:30")
            })
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
