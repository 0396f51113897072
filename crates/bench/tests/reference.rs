//! The reference server answers the three calls the benchmark sends it, the
//! way the wrk scripts expect.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use bench::reference;
use bench::target::{Target, CREATE_BODY};

async fn start() -> anyhow::Result<(String, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let pool = reference::open_database(&dir.path().join("reference.sqlite")).await?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let base = format!("http://{}", listener.local_addr()?);
    tokio::spawn(async move { axum::serve(listener, reference::router(pool)).await });
    Ok((base, dir))
}

fn http() -> anyhow::Result<reqwest::Client> {
    Ok(reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()?)
}

#[tokio::test]
async fn create_then_status_round_trips_through_the_database() -> anyhow::Result<()> {
    let (base, _dir) = start().await?;
    let http = http()?;
    let created = http
        .post(format!("{base}/api/digilocker"))
        .header("content-type", "application/json")
        .body(CREATE_BODY)
        .send()
        .await?;
    assert_eq!(created.status(), 201);
    let created: serde_json::Value = created.json().await?;
    let id = created["id"].as_str().unwrap_or_default();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{created}");
    assert_eq!(created["status"], "unauthenticated");

    let status = http
        .get(format!("{base}/api/digilocker/{id}/status"))
        .send()
        .await?;
    assert_eq!(status.status(), 200);
    let status: serde_json::Value = status.json().await?;
    assert_eq!(status["id"], id);
    assert_eq!(status["validUpto"], created["validUpto"]);

    let unknown = http
        .get(format!(
            "{base}/api/digilocker/{}/status",
            uuid::Uuid::new_v4()
        ))
        .send()
        .await?;
    assert_eq!(unknown.status(), 404);
    Ok(())
}

#[tokio::test]
async fn seeding_collects_every_id_and_they_are_distinct() -> anyhow::Result<()> {
    let (base, _dir) = start().await?;
    let target = Target::new(&base, vec!["x-client-id: ignored".into()])?;
    let ids = target.create_many(300, 8, Duration::from_secs(30)).await?;
    let distinct: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(distinct.len(), 300);
    let probe = target
        .probe(&format!("/api/digilocker/{}/status", ids[299]), &[])
        .await?;
    assert_eq!(probe.status, 200);
    Ok(())
}

#[tokio::test]
async fn the_catalogue_is_10000_entries_uncompressed_whatever_is_accepted() -> anyhow::Result<()> {
    let (base, _dir) = start().await?;
    let target = Target::new(&base, Vec::new())?;
    let probe = target
        .probe(
            "/api/digilocker/documents",
            &[("accept-encoding", "gzip, br")],
        )
        .await?;
    assert_eq!(probe.status, 200);
    assert_eq!(probe.encoding, "identity");
    let json: serde_json::Value = serde_json::from_slice(&probe.body)?;
    assert_eq!(
        json["documents"].as_array().map(Vec::len),
        Some(reference::CATALOGUE_ENTRIES)
    );
    Ok(())
}
