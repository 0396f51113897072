//! The embedded default: the sandbox DigiLocker mounted in our own process,
//! a master key generated on first start, a sandbox client whose
//! credentials are written to `<data-dir>/sandbox-credentials.json` (and, as
//! the three header lines `curl -H @file` reads, to
//! `<data-dir>/sandbox-headers.txt`), and an admin token for the sandbox's
//! fault switches in `<data-dir>/sandbox-admin-token`. Every one of these
//! files is readable by its owner only; none of them is ever logged.

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

/// The sandbox client's credentials file in the data directory.
pub const CREDENTIALS_FILE: &str = "sandbox-credentials.json";
/// The same credentials as three `name: value` lines (`curl -H @file`).
pub const HEADERS_FILE: &str = "sandbox-headers.txt";
/// The embedded sandbox's admin token (`Authorization: Bearer <token>` on
/// `/sandbox/admin/faults`).
pub const ADMIN_TOKEN_FILE: &str = "sandbox-admin-token";

/// The embedded sandbox and what the gateway needs of it.
pub struct Embedded {
    pub router: axum::Router,
    pub root_pem: String,
    pub app_client_id: String,
    pub app_client_secret: String,
    pub credentials: SandboxCredentials,
    /// The token the sandbox's admin endpoints require.
    pub admin_token: String,
}

/// Write a file readable by its owner only (an existing file is made so too).
pub fn write_private(path: &Path, contents: &[u8]) -> anyhow::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(crate::data_dir::FILE_MODE);
    }
    let mut file = options
        .open(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    crate::data_dir::tighten_file(path)?;
    file.write_all(contents)?;
    Ok(())
}

/// The three header lines of the sandbox client, as `curl -H @file` reads them.
pub fn headers_file_contents(creds: &SandboxCredentials) -> String {
    format!(
        "x-client-id: {}\nx-client-secret: {}\nx-product-instance-id: {}\n",
        creds.client_id, creds.client_secret, creds.product_instance_id
    )
}

/// The embedded sandbox's admin token, created on first start.
pub fn load_or_create_admin_token(data_dir: &Path) -> anyhow::Result<String> {
    let path = data_dir.join(ADMIN_TOKEN_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) if !text.trim().is_empty() => return Ok(text.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    }
    let token = crypto::random_token();
    write_private(&path, token.as_bytes())?;
    Ok(token)
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
    let path = data_dir.join(CREDENTIALS_FILE);
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
    write_private(
        &data_dir.join(HEADERS_FILE),
        headers_file_contents(&creds).as_bytes(),
    )?;
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
    let mut dirs = std::fs::DirBuilder::new();
    dirs.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        dirs.mode(crate::data_dir::DIR_MODE);
    }
    dirs.create(&sandbox_dir)
        .with_context(|| format!("cannot create {}", sandbox_dir.display()))?;
    let admin_token = load_or_create_admin_token(&config.data_dir)?;
    let sandbox = sandbox::Sandbox::new(sandbox::SandboxConfig {
        base_path: "/sandbox".into(),
        data_dir: sandbox_dir.clone(),
        catalogue_issuers: config.sandbox_catalogue.0,
        catalogue_pairs: config.sandbox_catalogue.1,
        eaadhaar_shape: config.sandbox_eaadhaar_shape,
        quirks: config.sandbox_quirks,
        catalogue_latency: config.sandbox_catalogue_latency,
        admin_token: Some(admin_token.clone()),
        // DigiLocker's federation partly fails every day, and so does the
        // sandbox's unless the operator asks for a healthy one.
        issuer_faults: if config.sandbox_failing_issuers {
            sandbox::federation::default_issuer_faults()
        } else {
            Default::default()
        },
        ..Default::default()
    })?;
    // The sandbox writes its certificates world-readable; in our data
    // directory nothing is.
    crate::data_dir::tighten_tree(&sandbox_dir)?;
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
        admin_token,
    })
}
