//! Parse + verify of a realistic signed e-Aadhaar (about 100 KB, most of it the photo),
//! read + verify of an issuer's signed PAN XML (`aadhaar::issuer`), and the signature
//! check of an issuer's signed PDF (`aadhaar::pdfsig`).
//! Run: `cargo bench -p aadhaar --bench verify`. Results are in BENCHMARKS.md and
//! docs/benchmarks.md.
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

    let pan = fixture("issuer-pan-signed.xml");
    let now = time::OffsetDateTime::now_utc();
    match aadhaar::issuer::read_and_verify(&pan, &anchors, now) {
        Ok(r) if r.verification.signature => {}
        other => panic!("the issuer fixture does not verify: {other:?}"),
    }
    let mut g = c.benchmark_group("issuer-xml");
    g.throughput(Throughput::Bytes(pan.len() as u64));
    g.bench_function("read_and_verify", |b| {
        b.iter(|| aadhaar::issuer::read_and_verify(black_box(&pan), &anchors, now))
    });
    g.finish();

    // A signed issuer PDF of a real one's size (about 200 KB), signed by openssl.
    let pdf = fixture("issuer-signed.pdf");
    let report = aadhaar::pdfsig::verify_pdf(&pdf, &anchors, now);
    if report.status != aadhaar::pdfsig::PdfSignatureStatus::Verified {
        panic!("the PDF fixture does not verify: {report:?}");
    }
    let mut g = c.benchmark_group("issuer-pdf");
    g.throughput(Throughput::Bytes(pdf.len() as u64));
    g.bench_function("verify_pdf", |b| {
        b.iter(|| aadhaar::pdfsig::verify_pdf(black_box(&pdf), &anchors, now))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
