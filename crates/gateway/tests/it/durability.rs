//! Nothing acknowledged is lost: writes are group-committed, and a caller
//! is answered only after its transaction committed. The real binary is
//! killed with SIGKILL in the middle of a burst of creates; after a restart
//! on the same database, every request that was answered `201` is there.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncBufReadExt;

use crate::harness::{on_postgres, PgSchema};

struct Gateway {
    child: tokio::process::Child,
    base: String,
}

async fn serve(dir: &std::path::Path, database_url: Option<&str>) -> Gateway {
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
    cmd.arg("serve")
        .env_clear()
        .env("GATEWAY_LISTEN", "127.0.0.1:0")
        .env("GATEWAY_DATA_DIR", dir)
        .env("GATEWAY_RATE_LIMIT_PER_SECOND", "0")
        .env("GATEWAY_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true);
    if let Some(url) = database_url {
        cmd.env("GATEWAY_DATABASE_URL", url);
        cmd.env("GATEWAY_MODE", "sandbox");
    }
    let mut child = cmd.spawn().unwrap();
    let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.unwrap() {
            if let Some(addr) = line.trim().strip_prefix("listening on ") {
                return addr.to_owned();
            }
        }
        panic!("the gateway exited before listening")
    })
    .await
    .expect("the gateway did not start in time");
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    Gateway {
        child,
        base: format!("http://{addr}"),
    }
}

fn credentials(dir: &std::path::Path) -> (String, String, String) {
    let v: Value =
        serde_json::from_slice(&std::fs::read(dir.join("sandbox-credentials.json")).unwrap())
            .unwrap();
    let s = |k: &str| v[k].as_str().unwrap().to_owned();
    (s("clientId"), s("clientSecret"), s("productInstanceId"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_acknowledged_create_survives_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let pg = if on_postgres() {
        Some(PgSchema::create().await)
    } else {
        None
    };
    let url = pg.as_ref().map(|p| p.url.clone());
    let mut gw = serve(dir.path(), url.as_deref()).await;
    let (id, secret, instance) = credentials(dir.path());
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let acknowledged = Arc::new(Mutex::new(Vec::<String>::new()));
    let mut load = Vec::new();
    for _ in 0..16 {
        let (http, base, ack) = (http.clone(), gw.base.clone(), acknowledged.clone());
        let (id, secret, instance) = (id.clone(), secret.clone(), instance.clone());
        load.push(tokio::spawn(async move {
            loop {
                let sent = http
                    .post(format!("{base}/api/digilocker"))
                    .header("x-client-id", &id)
                    .header("x-client-secret", &secret)
                    .header("x-product-instance-id", &instance)
                    .json(&json!({"redirectUrl": "https://business.example/done"}))
                    .send()
                    .await;
                let Ok(resp) = sent else { return };
                if resp.status() != 201 {
                    continue;
                }
                let Ok(body) = resp.json::<Value>().await else {
                    return;
                };
                if let Some(rid) = body["id"].as_str() {
                    ack.lock().unwrap().push(rid.to_owned());
                }
            }
        }));
    }
    // Let the burst run, then kill the process in the middle of it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    gw.child.start_kill().unwrap();
    gw.child.wait().await.unwrap();
    for task in load {
        let _ = task.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(
        acknowledged.len() > 50,
        "only {} creates before the kill",
        acknowledged.len()
    );

    let gw = serve(dir.path(), url.as_deref()).await;
    let mut lost = Vec::new();
    for rid in &acknowledged {
        let resp = http
            .get(format!("{}/api/digilocker/{rid}/status", gw.base))
            .header("x-client-id", &id)
            .header("x-client-secret", &secret)
            .header("x-product-instance-id", &instance)
            .send()
            .await
            .unwrap();
        if resp.status() != 200 {
            lost.push(rid.clone());
        }
    }
    assert!(
        lost.is_empty(),
        "{} of {} acknowledged requests were lost: {lost:?}",
        lost.len(),
        acknowledged.len()
    );
}
