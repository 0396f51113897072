//! Signed webhooks, as the Standard Webhooks specification defines them.
//!
//! - Every change of a request appends an event in the same transaction as
//!   the change; an announced one also gets a row in `deliveries` (the
//!   outbox) when its client has a webhook (see `storage`). So no change is
//!   lost, and none is announced that did not happen.
//! - [`worker`] sends what is due from every instance, each event by one
//!   instance at a time, retried with backoff; [`payload`] is what is sent
//!   (ids, statuses, doc types and codes: no personal data); [`signing`]
//!   signs it; [`guard`] keeps deliveries off internal addresses.
//! - [`configure`] is `client webhook`; [`inbox`] is the demo's receiver.

pub mod guard;
pub mod inbox;
pub mod payload;
pub mod signing;
pub mod worker;

use anyhow::{bail, Context};

use crate::crypto::Keyring;
use crate::storage::{Store, WebhookSettings};
pub use guard::Targets;
use signing::SigningKey;

/// What `client webhook` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Set the URL (keeping the secret, or making the first one) and/or
    /// rotate the secret.
    Set { url: Option<String>, rotate: bool },
    /// No more deliveries; URL and secrets forgotten.
    Disable,
}

/// What `client webhook` did.
#[derive(Debug)]
pub struct Changed {
    /// The webhook's URL now; `None` when disabled.
    pub url: Option<String>,
    /// A new signing secret (`whsec_…`), to be shown once; `None` when the
    /// secret did not change.
    pub secret: Option<String>,
    /// Until when the rotated-out secret still signs beside the new one.
    pub previous_until: Option<i64>,
    /// Something the operator should know (the URL's host does not resolve now).
    pub warning: Option<String>,
}

/// Set, rotate or disable a client's webhook. A new secret is returned in
/// clear once; only its sealed form is stored. On rotation the old secret
/// keeps signing beside the new one for 24 hours (a second rotation within
/// them drops the oldest).
pub async fn configure(
    store: &dyn Store,
    keys: &Keyring,
    targets: Targets,
    client_id: &str,
    change: Change,
    now: i64,
) -> anyhow::Result<Changed> {
    let Some(client) = store.get_client(client_id).await? else {
        bail!("no client {client_id}");
    };
    let (url, rotate) = match change {
        Change::Disable => {
            if !store
                .set_client_webhook(client_id, &WebhookSettings::default())
                .await?
            {
                bail!("no client {client_id}");
            }
            return Ok(Changed {
                url: None,
                secret: None,
                previous_until: None,
                warning: None,
            });
        }
        Change::Set {
            url: None,
            rotate: false,
        } => {
            bail!("say what to change: --url URL, --rotate-secret or --disable")
        }
        Change::Set { url, rotate } => (url, rotate),
    };
    let mut warning = None;
    let url = match url {
        Some(text) => {
            let url = targets.check_url(&text)?;
            let host = url.host_str().unwrap_or_default();
            let port = url.port_or_known_default().unwrap_or(443);
            if targets.check_resolved(host, port).await?.is_none() {
                warning = Some(format!(
                    "{host} does not resolve right now; deliveries will be retried until it does"
                ));
            }
            url.to_string()
        }
        None => match client.webhook_url.clone() {
            Some(u) => u,
            None => bail!("{client_id} has no webhook to rotate the secret of; set one with --url"),
        },
    };
    let mut settings = WebhookSettings {
        url: Some(url.clone()),
        secret: client.webhook_secret.clone(),
        previous_secret: client.webhook_previous_secret.clone(),
        previous_until: client.webhook_previous_until,
    };
    let mut shown = None;
    if rotate || settings.secret.is_none() {
        let key = SigningKey::generate();
        let sealed = key
            .seal(keys, client_id)
            .context("cannot seal the signing secret")?;
        match settings.secret.replace(sealed) {
            Some(old) => {
                settings.previous_secret = Some(old);
                settings.previous_until =
                    Some(now.saturating_add(signing::ROTATION_OVERLAP_SECONDS));
            }
            None => {
                settings.previous_secret = None;
                settings.previous_until = None;
            }
        }
        shown = Some(key.to_text());
    }
    if !store.set_client_webhook(client_id, &settings).await? {
        bail!("no client {client_id}");
    }
    Ok(Changed {
        url: Some(url),
        secret: shown,
        previous_until: settings.previous_until.filter(|until| *until > now),
        warning,
    })
}
