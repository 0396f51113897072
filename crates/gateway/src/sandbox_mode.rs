//! The embedded default: the sandbox DigiLocker mounted in our own process,
//! a master key generated on first start, and a sandbox client whose
//! credentials are written to `<data-dir>/sandbox-credentials.json`.

use std::io::Write;
use std::path::Path;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use url::Url;

use crate::config::Config;
use crate::crypto::{self, MasterKey};
use crate::storage::{ClientRecord, Store};

/// The sandbox client's credentials, as written to the credentials file.
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SandboxCredentials {
    pub client_id: String,
    pub client_secret: String,
    pub product_instance_id: String,
}

impl std::fmt::Debug for SandboxCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SandboxCredentials({})", self.client_id)
    }
}

/// The embedded sandbox and what the gateway needs of it.
pub struct Embedded {
    pub router: axum::Router,
    pub root_pem: String,
    pub app_client_id: String,
    pub app_client_secret: String,
    pub credentials: SandboxCredentials,
}

/// Write a file readable by its owner only.
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    file.write_all(contents)?;
    Ok(())
}

/// The sandbox master key, created on first start.
pub fn load_or_create_key(data_dir: &Path) -> anyhow::Result<MasterKey> {
    std::fs::create_dir_all(data_dir)?;
    let path = data_dir.join("master.key");
    if path.exists() {
        let text = std::fs::read_to_string(&path)?;
        return MasterKey::from_base64(&text)
            .with_context(|| format!("{} is not a valid key", path.display()));
    }
    let key = MasterKey::generate_base64();
    write_private(&path, key.as_bytes())?;
    MasterKey::from_base64(&key)
}

/// Make sure the sandbox client exists, from the credentials file if there is one.
pub async fn ensure_sandbox_client(
    data_dir: &Path,
    store: &dyn Store,
    now: i64,
) -> anyhow::Result<SandboxCredentials> {
    let path = data_dir.join("sandbox-credentials.json");
    let creds = match std::fs::read(&path) {
        Ok(bytes) => serde_json::from_slice::<SandboxCredentials>(&bytes).with_context(|| {
            format!(
                "{} is not valid; delete it to get new credentials",
                path.display()
            )
        })?,
        Err(_) => {
            let creds = SandboxCredentials {
                client_id: format!(
                    "sandbox-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..12]
                ),
                client_secret: crypto::random_token(),
                product_instance_id: uuid::Uuid::new_v4().to_string(),
            };
            write_private(&path, &serde_json::to_vec_pretty(&creds)?)?;
            creds
        }
    };
    match store.get_client(&creds.client_id).await? {
        Some(existing) if crypto::secret_matches(&creds.client_secret, &existing.secret_hash) => {}
        Some(_) => {
            store
                .set_client_secret_hash(
                    &creds.client_id,
                    &crypto::hash_secret(&creds.client_secret),
                )
                .await?;
        }
        None => {
            store
                .insert_client(&ClientRecord {
                    client_id: creds.client_id.clone(),
                    secret_hash: crypto::hash_secret(&creds.client_secret),
                    product_instance_id: creds.product_instance_id.clone(),
                    name: "Sandbox client".into(),
                    allowed_origins: String::new(),
                    disabled: 0,
                    created_at: now,
                    ..Default::default()
                })
                .await?;
        }
    }
    Ok(creds)
}

/// Build the sandbox under `/sandbox`, register the gateway as its partner
/// app, and make sure the sandbox client exists.
pub async fn embed(
    config: &Config,
    callback: &Url,
    store: &dyn Store,
    now: i64,
) -> anyhow::Result<Embedded> {
    let sandbox_dir = config
        .sandbox_dir
        .clone()
        .unwrap_or_else(|| config.data_dir.join("sandbox"));
    std::fs::create_dir_all(&sandbox_dir)?;
    let sandbox = sandbox::Sandbox::new(sandbox::SandboxConfig {
        base_path: "/sandbox".into(),
        data_dir: sandbox_dir,
        catalogue_issuers: config.sandbox_catalogue.0,
        catalogue_pairs: config.sandbox_catalogue.1,
        eaadhaar_shape: config.sandbox_eaadhaar_shape,
        quirks: config.sandbox_quirks,
        catalogue_latency: config.sandbox_catalogue_latency,
        ..Default::default()
    })?;
    // A fresh partner secret each start: the sandbox keeps its apps in memory.
    let app_client_id = "gateway".to_owned();
    let app_client_secret = crypto::random_token();
    sandbox.register_app(sandbox::PartnerApp {
        client_id: app_client_id.clone(),
        client_secret: app_client_secret.clone(),
        redirect_uris: vec![callback.to_string()],
    });
    let credentials = ensure_sandbox_client(&config.data_dir, store, now).await?;
    Ok(Embedded {
        router: sandbox.router(),
        root_pem: sandbox.root_ca_pem(),
        app_client_id,
        app_client_secret,
        credentials,
    })
}
