//! What an operator does to clients and webhook deliveries, the same from
//! the command line and the operator console: each action checks its input,
//! makes its change and appends an `operator_action` event naming who did
//! it (`cli`, or `console:` and the console session's id) to the client's
//! audit trail (`audit export`).

use anyhow::{bail, Context};
use serde_json::json;

use crate::crypto;
use crate::storage::{ClientRecord, EventKind, NewEvent, Store};
use crate::webhooks;

/// Who acted: `cli`, or `console:<session id>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator(String);

impl Operator {
    /// The command line.
    pub fn cli() -> Operator {
        Operator("cli".into())
    }

    /// A console session, by its public id (never its cookie).
    pub fn console(session_id: &str) -> Operator {
        Operator(format!("console:{session_id}"))
    }

    /// As recorded in the event.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A client just added: its three headers, the secret shown only now.
#[derive(Debug)]
pub struct NewClient {
    pub client_id: String,
    pub secret: String,
    pub product_instance_id: String,
}

/// Append the audit event of an action on `client_id`.
async fn record(
    store: &dyn Store,
    operator: &Operator,
    client_id: &str,
    action: &str,
    mut detail: serde_json::Value,
    now: i64,
) -> anyhow::Result<()> {
    if let Some(fields) = detail.as_object_mut() {
        fields.insert("action".into(), action.into());
        fields.insert("operator".into(), operator.as_str().into());
    }
    let event = NewEvent::new(EventKind::OperatorAction, detail, now);
    store
        .record_event("", client_id, &event)
        .await
        .context("cannot record the action in the audit trail")?;
    Ok(())
}

/// Check `name` and `allowed_origins` and add a client.
pub async fn add_client(
    store: &dyn Store,
    operator: &Operator,
    name: &str,
    allowed_origins: &[String],
    now: i64,
) -> anyhow::Result<NewClient> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        bail!("a client's name is 1 to 200 characters, without control characters");
    }
    for o in allowed_origins {
        let u = url::Url::parse(o)
            .with_context(|| format!("{o} is not an origin like https://example.com"))?;
        if u.origin().ascii_serialization() != o.trim_end_matches('/') {
            bail!("{o} is not an origin like https://example.com (no path)");
        }
    }
    let client = NewClient {
        client_id: format!("cl_{}", uuid::Uuid::new_v4().simple()),
        secret: crypto::random_token(),
        product_instance_id: uuid::Uuid::new_v4().to_string(),
    };
    store
        .insert_client(&ClientRecord {
            client_id: client.client_id.clone(),
            secret_hash: crypto::hash_secret(&client.secret),
            product_instance_id: client.product_instance_id.clone(),
            name: name.to_owned(),
            allowed_origins: allowed_origins.join(" "),
            disabled: 0,
            created_at: now,
            ..Default::default()
        })
        .await?;
    record(
        store,
        operator,
        &client.client_id,
        "client_added",
        json!({}),
        now,
    )
    .await?;
    Ok(client)
}

/// The client, or an error naming it.
async fn existing(store: &dyn Store, client_id: &str) -> anyhow::Result<ClientRecord> {
    match store.get_client(client_id).await? {
        Some(c) => Ok(c),
        None => bail!("no client {client_id}"),
    }
}

/// Disable a client, erasing its live requests; how many it erased.
pub async fn disable_client(
    store: &dyn Store,
    operator: &Operator,
    client_id: &str,
    now: i64,
) -> anyhow::Result<i64> {
    existing(store, client_id).await?;
    let live = store.count_client_live_requests(client_id).await?;
    if !store.set_client_disabled(client_id, true, now).await? {
        bail!("no client {client_id}");
    }
    record(
        store,
        operator,
        client_id,
        "client_disabled",
        json!({"erased": live}),
        now,
    )
    .await?;
    Ok(live)
}

/// Enable a disabled client.
pub async fn enable_client(
    store: &dyn Store,
    operator: &Operator,
    client_id: &str,
    now: i64,
) -> anyhow::Result<()> {
    if !store.set_client_disabled(client_id, false, now).await? {
        bail!("no client {client_id}");
    }
    record(store, operator, client_id, "client_enabled", json!({}), now).await
}

/// Give a client a new secret (the old one stops working at once); the
/// new one, shown only now.
pub async fn rotate_secret(
    store: &dyn Store,
    operator: &Operator,
    client_id: &str,
    now: i64,
) -> anyhow::Result<String> {
    let secret = crypto::random_token();
    if !store
        .set_client_secret_hash(client_id, &crypto::hash_secret(&secret))
        .await?
    {
        bail!("no client {client_id}");
    }
    record(store, operator, client_id, "secret_rotated", json!({}), now).await?;
    Ok(secret)
}

/// Send an event to its client's webhook again, now; the client's id.
pub async fn redeliver(
    store: &dyn Store,
    operator: &Operator,
    event_id: &str,
    now: i64,
) -> anyhow::Result<String> {
    let Some(event) = store.get_event(event_id).await? else {
        bail!("no event {event_id} (events are kept for audit_retention_days)");
    };
    if webhooks::payload::Payload::from_event(&event).is_none() {
        bail!(
            "{event_id} is a {} event, which is not sent to webhooks",
            event.kind
        );
    }
    if !store.redeliver(event_id, now).await? {
        bail!(
            "{event_id} cannot be sent: its client {} has no webhook",
            event.client_id
        );
    }
    record(
        store,
        operator,
        &event.client_id,
        "redelivered",
        json!({"eventId": event_id}),
        now,
    )
    .await?;
    Ok(event.client_id)
}
