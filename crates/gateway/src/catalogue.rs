//! The catalogue: a stored copy of DigiLocker's issuers × doc types ×
//! parameters, built in the background with bounded parallelism, refreshed
//! on a schedule, answered from memory.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use futures::stream::{self, StreamExt, TryStreamExt};
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::state::AppState;
use crate::storage::{CatalogueMeta, CatalogueRow, Store, StoreResult};
use crate::upstream;

/// One parameter, as the contract shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
pub struct Parameter {
    pub name: String,
    pub description: String,
}

/// One document of the catalogue, as the contract shows it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Document {
    pub available_formats: Vec<String>,
    pub description: String,
    pub doc_type: String,
    pub org_id: String,
    pub org_name: String,
    pub parameters: Vec<Parameter>,
}

impl Document {
    fn from_row(row: &CatalogueRow) -> Document {
        Document {
            available_formats: serde_json::from_str(&row.formats)
                .unwrap_or_else(|_| vec!["pdf".into()]),
            description: row.description.clone(),
            doc_type: row.doc_type.clone(),
            org_id: row.org_id.clone(),
            org_name: row.org_name.clone(),
            parameters: serde_json::from_str(&row.parameters).unwrap_or_default(),
        }
    }
}

/// One version of the catalogue held in memory, with its JSON pre-rendered.
#[derive(Debug)]
pub struct Snapshot {
    pub version: i64,
    pub documents: Vec<Document>,
    pub json: axum::body::Bytes,
    pub etag: String,
}

impl Snapshot {
    /// The contract JSON of the documents matching the filters.
    pub fn filtered_json(
        &self,
        org_id: Option<&str>,
        doc_type: Option<&str>,
        q: Option<&str>,
    ) -> axum::body::Bytes {
        let q = q.map(str::to_lowercase);
        let docs: Vec<&Document> = self
            .documents
            .iter()
            .filter(|d| org_id.is_none_or(|o| d.org_id == o))
            .filter(|d| doc_type.is_none_or(|t| d.doc_type == t))
            .filter(|d| {
                q.as_deref().is_none_or(|q| {
                    d.description.to_lowercase().contains(q)
                        || d.org_name.to_lowercase().contains(q)
                })
            })
            .collect();
        serde_json::to_vec(&serde_json::json!({ "documents": docs }))
            .unwrap_or_default()
            .into()
    }
}

/// An in-memory cache of the current stored catalogue. Only a cache: the
/// database says which version is current.
#[derive(Debug, Default)]
pub struct CatalogueCache {
    current: RwLock<Option<Arc<Snapshot>>>,
}

impl CatalogueCache {
    /// The current catalogue, or `None` until the first build is stored.
    pub async fn snapshot(&self, store: &dyn Store) -> StoreResult<Option<Arc<Snapshot>>> {
        let Some(meta) = store.catalogue_meta().await? else {
            return Ok(None);
        };
        if let Some(s) = self.current.read().await.as_ref() {
            if s.version == meta.version {
                return Ok(Some(s.clone()));
            }
        }
        let rows = store.load_catalogue().await?;
        let documents: Vec<Document> = rows.iter().map(Document::from_row).collect();
        let json: axum::body::Bytes =
            serde_json::to_vec(&serde_json::json!({ "documents": documents }))
                .unwrap_or_default()
                .into();
        let snapshot = Arc::new(Snapshot {
            version: meta.version,
            etag: format!("\"catalogue-v{}-{}\"", meta.version, meta.built_at),
            documents,
            json,
        });
        *self.current.write().await = Some(snapshot.clone());
        Ok(Some(snapshot))
    }

    /// One (issuer, doc type), if the catalogue is built and has it.
    pub async fn entry(
        &self,
        store: &dyn Store,
        org_id: &str,
        doc_type: &str,
    ) -> Result<Option<Document>, crate::error::ApiError> {
        let Some(snapshot) = self.snapshot(store).await? else {
            return Err(crate::error::ApiError::CatalogueNotReady);
        };
        Ok(snapshot
            .documents
            .iter()
            .find(|d| d.org_id == org_id && d.doc_type == doc_type)
            .cloned())
    }
}

const LEASE: &str = "catalogue-refresh";
/// How long the catalogue lease lasts without renewal.
const LEASE_SECS: i64 = 120;

/// Build the catalogue from DigiLocker's signed catalogue calls: one
/// `issuers`, one `doctype` per issuer, one `parameters` per pair, at most
/// `parallelism` calls at a time, each retried a few times.
pub async fn build(state: &AppState) -> anyhow::Result<Vec<CatalogueRow>> {
    let parallelism = state.config.catalogue_parallelism.max(1);
    let issuers = retry(|| upstream::call(state, "pull_issuers", state.dl.pull_issuers()))
        .await
        .context("listing issuers")?;
    let pairs: Vec<(digilocker::PullIssuer, digilocker::PullDocType)> = stream::iter(issuers)
        .map(|issuer| async move {
            let docs = retry(|| {
                upstream::call(state, "pull_doctype", state.dl.pull_doctypes(&issuer.orgid))
            })
            .await
            .with_context(|| format!("listing doc types of issuer {}", issuer.orgid))?;
            Ok::<_, anyhow::Error>(
                docs.into_iter()
                    .map(|d| (issuer.clone(), d))
                    .collect::<Vec<_>>(),
            )
        })
        .buffer_unordered(parallelism)
        .try_concat()
        .await?;
    let mut rows: Vec<CatalogueRow> = stream::iter(pairs)
        .map(|(issuer, doc)| async move {
            let params = retry(|| {
                upstream::call(
                    state,
                    "pull_parameters",
                    state.dl.pull_parameters(&issuer.orgid, &doc.doctype),
                )
            })
            .await
            .with_context(|| format!("listing parameters of {}/{}", issuer.orgid, doc.doctype))?;
            let parameters: Vec<Parameter> = params
                .into_iter()
                .map(|p| Parameter {
                    name: p.paramname,
                    description: p.label,
                })
                .collect();
            Ok::<_, anyhow::Error>(CatalogueRow {
                org_id: issuer.orgid.clone(),
                doc_type: doc.doctype.clone(),
                org_name: issuer.name.clone(),
                description: doc.description.clone(),
                formats: formats_json(doc.offers_xml()),
                parameters: serde_json::to_string(&parameters)?,
            })
        })
        .buffer_unordered(parallelism)
        .try_collect()
        .await?;
    rows.sort_by(|a, b| (&a.org_id, &a.doc_type).cmp(&(&b.org_id, &b.doc_type)));
    rows.dedup_by(|a, b| a.org_id == b.org_id && a.doc_type == b.doc_type);
    Ok(rows)
}

/// `availableFormats` of a doc type. Every pulled document comes as PDF.
/// DigiLocker's published catalogue calls say nothing about XML; where the
/// answer carries a `mime` hint (the sandbox does) and it lists XML, the
/// issuer's signed XML is offered too.
fn formats_json(offers_xml: Option<bool>) -> String {
    if offers_xml == Some(true) {
        r#"["pdf","xml"]"#.to_owned()
    } else {
        r#"["pdf"]"#.to_owned()
    }
}

async fn retry<T, F, Fut>(f: F) -> Result<T, digilocker::Error>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<T, digilocker::Error>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) if attempt < 3 => {
                attempt += 1;
                tracing::debug!(error = %e, attempt, "catalogue call failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Build and store a new catalogue if this instance gets the lease. Returns
/// the new meta, or `None` when another instance holds the lease.
pub async fn refresh(state: &AppState) -> anyhow::Result<Option<CatalogueMeta>> {
    refresh_unless_fresh(state, None).await
}

/// Like [`refresh`], but when `max_age` is given, build only if the stored
/// catalogue is missing or older than that once the lease is ours: another
/// instance may have finished a build between our look and our lease.
async fn refresh_unless_fresh(
    state: &AppState,
    max_age: Option<i64>,
) -> anyhow::Result<Option<CatalogueMeta>> {
    // Unique per attempt, so two instances configured with the same
    // instance name still exclude each other.
    let holder = format!(
        "{}/{}",
        state.config.instance_name,
        uuid::Uuid::new_v4().simple()
    );
    if !state
        .store
        .try_lease(LEASE, &holder, state.now(), state.now() + LEASE_SECS)
        .await?
    {
        tracing::info!("another instance is refreshing the catalogue");
        return Ok(None);
    }
    if let Some(max_age) = max_age {
        let fresh = match state.store.catalogue_meta().await {
            Ok(Some(meta)) => meta.built_at + max_age > state.now(),
            Ok(None) => false,
            Err(e) => {
                let _ = state.store.release_lease(LEASE, &holder).await;
                return Err(e.into());
            }
        };
        if fresh {
            state.store.release_lease(LEASE, &holder).await?;
            tracing::info!("another instance has just built the catalogue");
            return Ok(None);
        }
    }
    let started = std::time::Instant::now();
    let work = async {
        let rows = build(state).await?;
        let meta = state.store.replace_catalogue(&rows, state.now()).await?;
        Ok::<_, anyhow::Error>(meta)
    };
    // The lease is short and renewed while we build, so an instance that
    // dies mid-build holds up the others for two minutes, not an hour.
    let renew = async {
        loop {
            tokio::time::sleep(Duration::from_secs(LEASE_SECS as u64 / 4)).await;
            match state
                .store
                .try_lease(LEASE, &holder, state.now(), state.now() + LEASE_SECS)
                .await
            {
                Ok(true) => {}
                Ok(false) => return,
                Err(e) => tracing::warn!(error = %e, "could not renew the catalogue lease"),
            }
        }
    };
    let result = tokio::select! {
        r = work => r,
        () = renew => Err(anyhow::anyhow!("lost the catalogue lease to another instance; build abandoned")),
    };
    // Keep the lease on success until it expires? No: the built_at time now
    // tells every instance the catalogue is fresh, so release it.
    if let Err(e) = state.store.release_lease(LEASE, &holder).await {
        tracing::warn!(error = %e, "could not release the catalogue lease; it will expire");
    }
    let meta = result?;
    tracing::info!(
        entries = meta.entries,
        version = meta.version,
        seconds = started.elapsed().as_secs_f64(),
        "catalogue built"
    );
    Ok(Some(meta))
}

/// Background loop: build when missing or older than the refresh period.
pub async fn run_scheduler(state: AppState) {
    let refresh_every = state.config.catalogue_refresh.as_secs() as i64;
    loop {
        let due = match state.store.catalogue_meta().await {
            Ok(None) => true,
            Ok(Some(meta)) => meta.built_at + refresh_every <= state.now(),
            Err(e) => {
                tracing::warn!(error = %e, "cannot read catalogue state");
                false
            }
        };
        let mut wait = Duration::from_secs(60);
        if due {
            match refresh_unless_fresh(&state, Some(refresh_every)).await {
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %format!("{e:#}"), "catalogue build failed; will retry");
                    wait = Duration::from_secs(30);
                }
            }
            // While another instance builds, look again soon.
            if matches!(state.store.catalogue_meta().await, Ok(None)) {
                wait = Duration::from_secs(2);
            }
        }
        tokio::time::sleep(wait).await;
    }
}
