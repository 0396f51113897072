//! How the gateway reaches DigiLocker: an `http://` DigiLocker refused in
//! production unless allowed, the private CA file (`[digilocker] ca_file`)
//! read and checked at start and handed to the client.

use std::process::Command;

use gateway::config::{DigilockerSettings, DigilockerTable};

use crate::harness::TestApp;

const MASTER_KEY: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";

/// A production configuration (DigiLocker credentials set) on `base_url`.
fn production(dir: &std::path::Path, base_url: &str) -> gateway::Config {
    gateway::Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        master_key: Some(MASTER_KEY.into()),
        digilocker: Some(DigilockerSettings {
            base_url: base_url.parse().unwrap(),
            client_id: "PARTNER".into(),
            client_secret: "partner-secret".into(),
        }),
        background_tasks: false,
        ..gateway::Config::default()
    }
}

async fn start_error(config: gateway::Config) -> String {
    let err = gateway::start(config)
        .await
        .err()
        .expect("must refuse to start");
    format!("{err:#}")
}

#[tokio::test]
async fn an_http_digilocker_in_production_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let err = start_error(production(
        dir.path(),
        "http://digilocker.internal:8080/public",
    ))
    .await;
    assert!(
        err.contains("GATEWAY_DIGILOCKER_BASE_URL")
            && err.contains("GATEWAY_DIGILOCKER_ALLOW_HTTP")
            && err.contains("allow_http")
            && err.contains("clear text"),
        "{err}"
    );
    // Refused before anything was made.
    assert!(!dir.path().join("gateway.sqlite").exists());
}

#[tokio::test]
async fn an_http_digilocker_starts_when_allowed() {
    let t = TestApp::spawn_with(|c| {
        let dir = c.data_dir.clone();
        *c = gateway::Config {
            database_url: c.database_url.take(),
            digilocker_table: DigilockerTable {
                allow_http: true,
                ..Default::default()
            },
            ..production(&dir, "http://127.0.0.1:9/public")
        };
    })
    .await;
    assert!(!t.app.state.config.sandbox_mode());
    assert_eq!(t.app.state.dl.config().base_url.scheme(), "http");
}

#[tokio::test]
async fn https_in_production_and_http_in_sandbox_mode_need_no_allowance() {
    let dir = tempfile::tempdir().unwrap();
    let config = production(dir.path(), "https://digilocker.meripehchaan.gov.in/public");
    config.check_digilocker_base_url().unwrap();
    // The embedded sandbox is reached over http on our own address.
    let t = TestApp::spawn().await;
    assert_eq!(t.app.state.dl.config().base_url.scheme(), "http");
}

#[tokio::test]
async fn an_unreadable_or_invalid_ca_file_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").unwrap();
    let empty_cert = dir.path().join("broken.pem");
    std::fs::write(
        &empty_cert,
        "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    for file in [dir.path().join("missing.pem"), garbage, empty_cert] {
        let data = tempfile::tempdir().unwrap();
        let config = gateway::Config {
            digilocker_table: DigilockerTable {
                ca_file: Some(file.clone()),
                ..Default::default()
            },
            ..production(data.path(), "https://digilocker.meripehchaan.gov.in/public")
        };
        let err = start_error(config).await;
        assert!(
            err.contains("GATEWAY_DIGILOCKER_CA_FILE")
                && err.contains("[digilocker] ca_file")
                && err.contains(&file.display().to_string()),
            "{err}"
        );
    }
}

#[tokio::test]
async fn the_ca_file_is_trusted_by_the_digilocker_client() {
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("private-ca.pem");
    // Any CA certificate will do: CCA India's root, as PEM.
    std::fs::write(&ca, aadhaar::trust::CCA_INDIA_2022_PEM).unwrap();
    let t = TestApp::spawn_with(|c| c.digilocker_table.ca_file = Some(ca.clone())).await;
    assert_eq!(
        t.app.state.dl.config().extra_ca_pem.as_deref(),
        Some(aadhaar::trust::CCA_INDIA_2022_PEM.as_bytes())
    );
    // The public roots are still trusted beside it, and the journey works.
    let (id, _) = t.authenticated().await;
    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!(s, 200, "{v}");
}

/// The same refusals from the environment, through the real binary.
#[test]
fn the_environment_settings_reach_the_start() {
    let run = |envs: &[(&str, &str)]| {
        let dir = tempfile::tempdir().unwrap();
        let mut command = Command::new(env!("CARGO_BIN_EXE_digilocker-gateway"));
        command
            .arg("--data-dir")
            .arg(dir.path())
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env_remove("GATEWAY_DATABASE_URL")
            .env_remove("DATABASE_URL")
            .env("GATEWAY_MASTER_KEY", MASTER_KEY)
            .env("GATEWAY_DIGILOCKER_CLIENT_ID", "PARTNER")
            .env("GATEWAY_DIGILOCKER_CLIENT_SECRET", "partner-secret");
        for (k, v) in envs {
            command.env(k, v);
        }
        let out = command.output().unwrap();
        assert!(!out.status.success());
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    };
    let text = run(&[(
        "GATEWAY_DIGILOCKER_BASE_URL",
        "http://digilocker.internal/public",
    )]);
    assert!(text.contains("GATEWAY_DIGILOCKER_ALLOW_HTTP"), "{text}");
    let text = run(&[
        (
            "GATEWAY_DIGILOCKER_BASE_URL",
            "https://digilocker.meripehchaan.gov.in/public",
        ),
        ("GATEWAY_DIGILOCKER_CA_FILE", "/nonexistent/ca.pem"),
    ]);
    assert!(
        text.contains("GATEWAY_DIGILOCKER_CA_FILE") && text.contains("/nonexistent/ca.pem"),
        "{text}"
    );
    let text = run(&[
        (
            "GATEWAY_DIGILOCKER_BASE_URL",
            "http://digilocker.internal/public",
        ),
        ("GATEWAY_DIGILOCKER_ALLOW_HTTP", "maybe"),
    ]);
    assert!(
        text.contains("GATEWAY_DIGILOCKER_ALLOW_HTTP must be true or false"),
        "{text}"
    );
    let text = run(&[
        (
            "GATEWAY_DIGILOCKER_BASE_URL",
            "https://digilocker.meripehchaan.gov.in/public",
        ),
        ("GATEWAY_AADHAAR_MAX_AGE_DAYS", "three years"),
    ]);
    assert!(text.contains("GATEWAY_AADHAAR_MAX_AGE_DAYS"), "{text}");
}
