//! What each console page shows, read from the store, the metrics and the
//! configuration: ids, counts, codes and times, never personal data.

use std::collections::BTreeMap;

use askama::Template;

use crate::metrics::Summary;
use crate::state::AppState;
use crate::storage::{DeliveryRecord, EventRecord, IssuerState, StepCount};
use crate::timefmt::ist;

/// What every page's frame needs: the session (its id shown, its CSRF
/// token in the sign-out form) and which tab is open.
pub struct Frame {
    pub session_id: String,
    pub csrf: String,
    pub tab: &'static str,
}

/// A message after an action, or an error.
#[derive(Template)]
#[template(path = "console_message.html")]
pub struct Message {
    pub frame: Option<Frame>,
    pub title: String,
    pub text: String,
    pub back: String,
}

#[derive(Template)]
#[template(path = "console_login.html")]
pub struct Login {
    pub frame: Option<Frame>,
    pub csrf: String,
    pub error: Option<String>,
}

/// The steps of the funnel and the table, as stored in [`StepCount::step`].
const STEPS: [&str; 6] = [
    "created",
    "consent_given",
    "consent_denied",
    "journey_failed",
    "fetched",
    "expired",
];

/// One funnel (a client's or everyone's) over the last day: created,
/// consented, fetched, each with its bar's width in percent of created.
pub struct Funnel {
    pub label: String,
    pub bars: Vec<(&'static str, i64, u32)>,
}

/// A failing issuer.
pub struct Failing {
    pub org: String,
    pub name: String,
    pub attempts: i64,
    pub since: String,
    pub error: String,
    pub next_try: String,
}

/// One DigiLocker endpoint's calls.
pub struct Endpoint {
    pub name: &'static str,
    pub calls: u64,
    pub failed: u64,
    pub kinds: String,
    pub mean_ms: String,
    pub max_ms: String,
}

#[derive(Template)]
#[template(path = "console_now.html")]
pub struct Now {
    pub frame: Option<Frame>,
    /// Each step: requests in the last hour, in the last day.
    pub steps: Vec<(&'static str, i64, i64)>,
    pub funnels: Vec<Funnel>,
    pub errors: Vec<(&'static str, u64)>,
    pub endpoints: Vec<Endpoint>,
    pub catalogue: String,
    pub catalogue_complete: bool,
    pub failing: Vec<Failing>,
    pub backlog: i64,
    pub revokes: i64,
    pub at: String,
}

/// Each step with its requests in both windows.
fn steps(hour: &[StepCount], day: &[StepCount]) -> Vec<(&'static str, i64, i64)> {
    let of = |counts: &[StepCount], step: &str| -> i64 {
        counts
            .iter()
            .filter(|c| c.step == step)
            .map(|c| c.requests)
            .sum()
    };
    STEPS
        .iter()
        .map(|step| (*step, of(hour, step), of(day, step)))
        .collect()
}

fn funnel(label: String, counts: &[&StepCount]) -> Funnel {
    let of = |step: &str| -> i64 {
        counts
            .iter()
            .filter(|c| c.step == step)
            .map(|c| c.requests)
            .sum()
    };
    let created = of("created");
    let width = |n: i64| -> u32 {
        if created <= 0 {
            0
        } else {
            u32::try_from((n.min(created) * 100) / created).unwrap_or(100)
        }
    };
    Funnel {
        label,
        bars: [
            ("created", of("created")),
            ("consented", of("consent_given")),
            ("fetched", of("fetched")),
        ]
        .into_iter()
        .map(|(name, n)| (name, n, width(n)))
        .collect(),
    }
}

impl Now {
    pub async fn read(state: &AppState, frame: Frame) -> anyhow::Result<Now> {
        let now = state.now();
        let store = state.store.as_ref();
        let hour = store.step_counts(now - 3600).await?;
        let day = store.step_counts(now - 86_400).await?;
        let mut by_client: BTreeMap<&str, Vec<&StepCount>> = BTreeMap::new();
        for c in &day {
            by_client.entry(&c.client_id).or_default().push(c);
        }
        let mut funnels = vec![funnel(
            "all clients".into(),
            &day.iter().collect::<Vec<_>>(),
        )];
        funnels.extend(
            by_client
                .into_iter()
                .map(|(client, counts)| funnel(client.to_owned(), &counts)),
        );
        let Summary {
            error_answers,
            upstream,
        } = state.metrics.summary();
        let endpoints = upstream
            .into_iter()
            .map(|(name, s)| Endpoint {
                name,
                calls: s.calls,
                failed: s.failed(),
                kinds: s
                    .errors
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", "),
                mean_ms: format!("{:.0}", s.mean_ms()),
                max_ms: format!("{:.0}", s.max_seconds * 1000.0),
            })
            .collect();
        let status = crate::catalogue::status(store).await?;
        let (catalogue, catalogue_complete) = match &status.meta {
            None => ("no catalogue stored yet".to_owned(), false),
            Some(m) => (
                format!(
                    "version {}: {} documents from {} issuers; {} failing, {} not asked yet; \
                     stored {} ({} min ago)",
                    m.version,
                    m.entries,
                    m.issuers,
                    m.failing,
                    m.pending,
                    ist(m.built_at),
                    (now - m.built_at).max(0) / 60
                ),
                m.complete(),
            ),
        };
        Ok(Now {
            frame: Some(frame),
            steps: steps(&hour, &day),
            funnels,
            errors: error_answers.into_iter().collect(),
            endpoints,
            catalogue,
            catalogue_complete,
            failing: status.failing.iter().map(failing).collect(),
            backlog: store.webhook_backlog().await?.pending,
            revokes: store.count_upstream_revokes().await?,
            at: ist(now),
        })
    }
}

fn failing(s: &IssuerState) -> Failing {
    Failing {
        org: if s.org_id.is_empty() {
            "(the issuer list)".into()
        } else {
            s.org_id.clone()
        },
        name: s.org_name.chars().take(60).collect(),
        attempts: s.attempts,
        since: s.failing_since.map(ist).unwrap_or_default(),
        error: s.last_error.clone().unwrap_or_default(),
        next_try: ist(s.next_try_at),
    }
}

/// A client in the list.
pub struct ClientRow {
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub created: String,
    pub webhook: bool,
    pub backlog: i64,
}

#[derive(Template)]
#[template(path = "console_clients.html")]
pub struct Clients {
    pub frame: Option<Frame>,
    pub clients: Vec<ClientRow>,
}

impl Clients {
    pub async fn read(state: &AppState, frame: Frame) -> anyhow::Result<Clients> {
        let backlog: BTreeMap<String, i64> = state
            .store
            .pending_deliveries_by_client()
            .await?
            .into_iter()
            .collect();
        let clients = state
            .store
            .list_clients()
            .await?
            .into_iter()
            .map(|c| ClientRow {
                backlog: backlog.get(&c.client_id).copied().unwrap_or(0),
                enabled: c.disabled == 0,
                created: ist(c.created_at),
                webhook: c.webhook_url.is_some(),
                id: c.client_id,
                name: c.name,
            })
            .collect();
        Ok(Clients {
            frame: Some(frame),
            clients,
        })
    }
}

/// A webhook delivery as shown.
pub struct Delivery {
    pub event_id: String,
    pub kind: String,
    pub state: String,
    pub attempts: i64,
    pub status: String,
    pub when: String,
    pub error: String,
    pub failed: bool,
}

async fn delivery(state: &AppState, d: DeliveryRecord) -> anyhow::Result<Delivery> {
    let kind = state
        .store
        .get_event(&d.event_id)
        .await?
        .and_then(|e| crate::webhooks::payload::Payload::from_event(&e))
        .map_or("-", |p| p.kind);
    Ok(Delivery {
        kind: kind.to_owned(),
        failed: d.state == "failed",
        attempts: d.attempts,
        status: d.last_status.map_or_else(|| "-".into(), |s| s.to_string()),
        when: ist(d.finished_at.unwrap_or(d.next_attempt_at)),
        error: d.last_error.unwrap_or_default(),
        event_id: d.event_id,
        state: d.state,
    })
}

#[derive(Template)]
#[template(path = "console_client.html")]
pub struct Client {
    pub frame: Option<Frame>,
    pub id: String,
    pub name: String,
    pub enabled: bool,
    pub created: String,
    pub origins: String,
    pub webhook_url: Option<String>,
    pub backlog: i64,
    pub live: i64,
    pub deliveries: Vec<Delivery>,
}

impl Client {
    pub async fn read(state: &AppState, frame: Frame, id: &str) -> anyhow::Result<Option<Client>> {
        let store = state.store.as_ref();
        let Some(c) = store.get_client(id).await? else {
            return Ok(None);
        };
        let mut deliveries = Vec::new();
        for d in store.list_deliveries(id, 20).await? {
            deliveries.push(delivery(state, d).await?);
        }
        let backlog = store
            .pending_deliveries_by_client()
            .await?
            .into_iter()
            .find(|(client, _)| client == id)
            .map_or(0, |(_, n)| n);
        Ok(Some(Client {
            frame: Some(frame),
            live: store.count_client_live_requests(id).await?,
            id: c.client_id,
            name: c.name,
            enabled: c.disabled == 0,
            created: ist(c.created_at),
            origins: c.allowed_origins,
            webhook_url: c.webhook_url,
            backlog,
            deliveries,
        }))
    }
}

/// Asks before disabling: how many live requests it erases.
#[derive(Template)]
#[template(path = "console_confirm.html")]
pub struct ConfirmDisable {
    pub frame: Option<Frame>,
    pub id: String,
    pub name: String,
    pub live: i64,
}

/// Asks before rotating a secret: the old one stops working at once.
#[derive(Template)]
#[template(path = "console_confirm_rotate.html")]
pub struct ConfirmRotate {
    pub frame: Option<Frame>,
    pub id: String,
    pub name: String,
}

/// A secret, shown once (a new client's, a rotated one).
#[derive(Template)]
#[template(path = "console_secret.html")]
pub struct Secret {
    pub frame: Option<Frame>,
    pub title: String,
    pub client_id: String,
    pub secret: String,
    pub product_instance_id: Option<String>,
}

/// An audit event as shown.
pub struct Event {
    pub id: String,
    pub kind: String,
    pub at: String,
    pub detail: String,
}

impl Event {
    fn of(e: &EventRecord) -> Event {
        Event {
            id: e.id.clone(),
            kind: e.kind.clone(),
            at: ist(e.at),
            detail: e.detail.clone(),
        }
    }
}

#[derive(Template)]
#[template(path = "console_lookup.html")]
pub struct Lookup {
    pub frame: Option<Frame>,
    pub query: String,
    pub error: Option<String>,
    pub request_id: Option<String>,
    pub client_id: String,
    pub events: Vec<Event>,
    pub deliveries: Vec<Delivery>,
}

/// A request id or trace id as typed: plain characters only, at most 64.
fn plain(q: &str) -> bool {
    !q.is_empty()
        && q.len() <= 64
        && q.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl Lookup {
    pub async fn read(state: &AppState, frame: Frame, query: &str) -> anyhow::Result<Lookup> {
        let query = query.trim();
        let mut page = Lookup {
            frame: Some(frame),
            query: query.to_owned(),
            error: None,
            request_id: None,
            client_id: String::new(),
            events: Vec::new(),
            deliveries: Vec::new(),
        };
        if query.is_empty() {
            return Ok(page);
        }
        if !plain(query) {
            page.error = Some(
                "A request id or trace id is at most 64 letters, digits, '-', '_' or '.'".into(),
            );
            return Ok(page);
        }
        let store = state.store.as_ref();
        let mut events = store.request_events(query).await?;
        if events.is_empty() {
            // A trace id: the events its calls made carry it.
            let needle = format!("\"traceId\":\"{query}\"");
            let found = store.events_mentioning(&needle, 50).await?;
            let request = found.iter().find(|e| {
                !e.request_id.is_empty()
                    && serde_json::from_str::<serde_json::Value>(&e.detail)
                        .is_ok_and(|d| d["traceId"] == query)
            });
            if let Some(e) = request {
                events = store.request_events(&e.request_id).await?;
            }
        }
        let Some(first) = events.first() else {
            page.error = Some(format!(
                "No request has the id or trace id {query} (events are kept for \
                 audit_retention_days; trace ids are those of calls that changed a request)"
            ));
            return Ok(page);
        };
        page.request_id = Some(first.request_id.clone());
        page.client_id = first.client_id.clone();
        for d in store.request_deliveries(&first.request_id).await? {
            page.deliveries.push(delivery(state, d).await?);
        }
        page.events = events.iter().map(Event::of).collect();
        Ok(page)
    }
}

#[derive(Template)]
#[template(path = "console_keys.html")]
pub struct Keys {
    pub frame: Option<Frame>,
    pub keys: String,
    pub mode: &'static str,
    pub version: &'static str,
    pub database: &'static str,
    pub listen: String,
    pub admin_listen: String,
    pub public_base_url: String,
    pub settings: Vec<(String, String)>,
}

impl Keys {
    pub async fn read(
        state: &AppState,
        frame: Frame,
        [listen, admin]: [std::net::SocketAddr; 2],
    ) -> anyhow::Result<Keys> {
        let now = state.now();
        let needs = crate::keys::status(state.store.as_ref(), &state.keys, now).await?;
        let config = &state.config;
        Ok(Keys {
            frame: Some(frame),
            keys: crate::keys::status_text(&needs, now),
            mode: config.mode.map_or("sandbox", crate::config::Mode::as_str),
            version: env!("CARGO_PKG_VERSION"),
            database: state.store.backend(),
            listen: listen.to_string(),
            admin_listen: admin.to_string(),
            public_base_url: state.public_base.to_string(),
            settings: changed_settings(config),
        })
    }
}

/// Every setting whose value differs from its default, by its key; a
/// secret as `set` or `unset`, never its value.
pub fn changed_settings(config: &crate::Config) -> Vec<(String, String)> {
    let ours = serde_json::to_value(config).unwrap_or_default();
    let default = serde_json::to_value(crate::Config::default()).unwrap_or_default();
    let mut out = Vec::new();
    diff("", &ours, &default, &mut out);
    out
}

fn diff(
    prefix: &str,
    ours: &serde_json::Value,
    default: &serde_json::Value,
    out: &mut Vec<(String, String)>,
) {
    use serde_json::Value;
    if let (Value::Object(o), Value::Object(d)) = (ours, default) {
        for (key, value) in o {
            let name = if prefix.is_empty() {
                key.clone()
            } else {
                format!("{prefix}.{key}")
            };
            diff(&name, value, d.get(key).unwrap_or(&Value::Null), out);
        }
        return;
    }
    if ours == default {
        return;
    }
    let secret = |v: &Value| {
        v == "<secret>"
            || v.as_array()
                .is_some_and(|a| a.iter().any(|x| x == "<secret>"))
    };
    let shown = match ours {
        _ if secret(ours) || secret(default) => {
            if ours.is_null() || ours.as_array().is_some_and(Vec::is_empty) {
                "unset".to_owned()
            } else {
                "set".to_owned()
            }
        }
        Value::Null => "unset".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    out.push((prefix.to_owned(), shown));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settings_that_differ_are_listed_and_secrets_only_as_set() {
        let config = crate::Config {
            master_key: Some("c2VjcmV0LXZhbHVlLW5ldmVyLXNob3du".to_owned().into()),
            console_password: Some("a-long-console-password".to_owned().into()),
            request_ttl: std::time::Duration::from_secs(60),
            ..crate::Config::default()
        };
        let changed = changed_settings(&config);
        let get = |k: &str| {
            changed
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("master_key"), Some("set"));
        assert_eq!(get("console_password"), Some("set"));
        assert_eq!(get("request_ttl_seconds"), Some("60"));
        assert_eq!(get("listen"), None, "{changed:?}");
        let all = format!("{changed:?}");
        assert!(
            !all.contains("c2VjcmV0") && !all.contains("a-long-console"),
            "{all}"
        );
    }

    #[test]
    fn the_funnel_is_in_percent_of_created() {
        let c = |step: &str, n| StepCount {
            client_id: "cl_a".into(),
            step: step.into(),
            requests: n,
        };
        let counts = [c("created", 4), c("consent_given", 2), c("fetched", 1)];
        let f = funnel("x".into(), &counts.iter().collect::<Vec<_>>());
        assert_eq!(
            f.bars,
            vec![
                ("created", 4, 100),
                ("consented", 2, 50),
                ("fetched", 1, 25)
            ]
        );
    }
}
