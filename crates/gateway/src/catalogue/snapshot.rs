//! The catalogue in memory: one immutable snapshot per stored version
//! (indexed, serialised and compressed once), the cache that holds the
//! current one and the pace of this process's catalogue calls. It takes the
//! store, never the app's state.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use serde::{Deserialize, Serialize};
use tokio::sync::RwLock;

use crate::error::ApiError;
use crate::storage::{CatalogueMeta, CatalogueRow, Store, StoreResult};

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

/// One (issuer, doc type) of the catalogue: what the contract shows, and
/// the issuer's id as DigiLocker writes it in document URIs.
#[derive(Debug, Clone)]
pub struct Entry {
    pub document: Document,
    /// e.g. `in.gov.pan`; empty when DigiLocker did not say.
    pub issuer_id: String,
}

/// A content encoding the full catalogue is kept in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Identity,
    Gzip,
    Brotli,
}

impl Encoding {
    /// The `Content-Encoding` value (`None` for identity).
    pub fn header(self) -> Option<&'static str> {
        match self {
            Encoding::Identity => None,
            Encoding::Gzip => Some("gzip"),
            Encoding::Brotli => Some("br"),
        }
    }

    /// The best encoding a client accepts, by its `Accept-Encoding`
    /// q-values; on a tie the smallest body, as `size` tells.
    pub fn negotiate(accept: Option<&str>, size: impl Fn(Encoding) -> usize) -> Encoding {
        let Some(accept) = accept else {
            return Encoding::Identity;
        };
        let mut best: Option<(Encoding, f32)> = None;
        for item in accept.split(',') {
            let mut parts = item.split(';');
            let name = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
            let q = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|v| v.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            let encoding = match name.as_str() {
                "br" => Encoding::Brotli,
                "gzip" | "x-gzip" => Encoding::Gzip,
                _ => continue,
            };
            let better = match best {
                _ if q <= 0.0 => false,
                None => true,
                Some((b, bq)) => q > bq || (q == bq && size(encoding) < size(b)),
            };
            if better {
                best = Some((encoding, q));
            }
        }
        best.map_or(Encoding::Identity, |(e, _)| e)
    }
}

/// One version of the catalogue held in memory: its entries with an index
/// for filtered queries, and the whole contract JSON serialised once and
/// kept compressed, so a download costs no serialisation and no copy.
#[derive(Debug)]
pub struct Snapshot {
    pub version: i64,
    /// The stored version's completeness.
    pub meta: CatalogueMeta,
    pub entries: Vec<Entry>,
    by_key: HashMap<(String, String), usize>,
    by_org: HashMap<String, Vec<usize>>,
    by_doc_type: HashMap<String, Vec<usize>>,
    identity: Bytes,
    gzip: Bytes,
    brotli: Bytes,
    /// Weak: the same for every encoding of this version.
    pub etag: String,
}

fn json_of<'a>(docs: impl Iterator<Item = &'a Document>) -> Vec<u8> {
    #[derive(Serialize)]
    struct Body<'a> {
        documents: Vec<&'a Document>,
    }
    serde_json::to_vec(&Body {
        documents: docs.collect(),
    })
    .unwrap_or_default()
}

/// The catalogue compressed two ways. Each encoder is set for a small
/// working memory: a build happens while the gateway serves, and its peak
/// is the gateway's. Measured on the 10,000-entry catalogue (2.7 MB of
/// JSON): gzip level 9, 107 KB with under 1 MiB; brotli quality 5, 116 KB
/// with 5 MiB (quality 9 makes 64 KB but takes 29 MiB whatever the
/// window). A client that accepts both gets the smaller
/// ([`Encoding::negotiate`]). zstd (70 KB) is not offered: its C library
/// was a tenth of a first build's time, for a third less on a download
/// that a client repeats only when the `ETag` changes.
fn compress(plain: &[u8]) -> std::io::Result<(Vec<u8>, Vec<u8>)> {
    use std::io::Write;
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(9));
    gz.write_all(plain)?;
    let gzip = gz.finish()?;
    let mut br = Vec::new();
    {
        let params = brotli::enc::BrotliEncoderParams {
            quality: 5,
            lgwin: 20,
            ..Default::default()
        };
        brotli::BrotliCompress(&mut std::io::Cursor::new(plain), &mut br, &params)?;
    }
    Ok((gzip, br))
}

impl Snapshot {
    /// Build a snapshot: index, serialise, compress (CPU work: call it
    /// off the async workers).
    pub fn build(meta: CatalogueMeta, rows: &[CatalogueRow]) -> std::io::Result<Snapshot> {
        let entries: Vec<Entry> = rows
            .iter()
            .map(|row| Entry {
                document: Document::from_row(row),
                issuer_id: row.issuer_id.clone(),
            })
            .collect();
        let mut by_key = HashMap::new();
        let mut by_org: HashMap<String, Vec<usize>> = HashMap::new();
        let mut by_doc_type: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let d = &e.document;
            by_key.insert((d.org_id.clone(), d.doc_type.clone()), i);
            by_org.entry(d.org_id.clone()).or_default().push(i);
            by_doc_type.entry(d.doc_type.clone()).or_default().push(i);
        }
        let mut identity = json_of(entries.iter().map(|e| &e.document));
        // Kept for the version's life: not with the serialiser's spare capacity.
        identity.shrink_to_fit();
        let (gzip, brotli) = compress(&identity)?;
        Ok(Snapshot {
            version: meta.version,
            meta,
            etag: format!("W/\"catalogue-v{}-{}\"", meta.version, meta.built_at),
            entries,
            by_key,
            by_org,
            by_doc_type,
            identity: identity.into(),
            gzip: gzip.into(),
            brotli: brotli.into(),
        })
    }

    /// The encoding to answer a client's `Accept-Encoding` with.
    pub fn negotiate(&self, accept: Option<&str>) -> Encoding {
        Encoding::negotiate(accept, |e| self.body(e).len())
    }

    /// The whole catalogue's contract JSON in `encoding` (a cheap clone).
    pub fn body(&self, encoding: Encoding) -> Bytes {
        match encoding {
            Encoding::Identity => self.identity.clone(),
            Encoding::Gzip => self.gzip.clone(),
            Encoding::Brotli => self.brotli.clone(),
        }
    }

    /// Every issuer's entry of `doc_type`.
    pub fn with_doc_type(&self, doc_type: &str) -> Vec<&Entry> {
        self.by_doc_type
            .get(doc_type)
            .map(|ix| ix.iter().map(|&i| &self.entries[i]).collect())
            .unwrap_or_default()
    }

    /// One (issuer, doc type).
    pub fn entry(&self, org_id: &str, doc_type: &str) -> Option<&Entry> {
        self.by_key
            .get(&(org_id.to_owned(), doc_type.to_owned()))
            .map(|&i| &self.entries[i])
    }

    /// The contract JSON of the documents matching the filters; the issuer
    /// and doc type filters use the index, the text filter scans what is left.
    pub fn filtered_json(
        &self,
        org_id: Option<&str>,
        doc_type: Option<&str>,
        q: Option<&str>,
    ) -> Bytes {
        let all: Vec<usize>;
        let candidates: &[usize] = match (org_id, doc_type) {
            (Some(o), Some(t)) => match self.by_key.get(&(o.to_owned(), t.to_owned())) {
                Some(i) => std::slice::from_ref(i),
                None => &[],
            },
            (Some(o), None) => self.by_org.get(o).map(Vec::as_slice).unwrap_or_default(),
            (None, Some(t)) => self
                .by_doc_type
                .get(t)
                .map(Vec::as_slice)
                .unwrap_or_default(),
            (None, None) => {
                all = (0..self.entries.len()).collect();
                &all
            }
        };
        let q = q.map(str::to_lowercase);
        let docs = candidates
            .iter()
            .map(|&i| &self.entries[i].document)
            .filter(|d| {
                q.as_deref().is_none_or(|q| {
                    d.description.to_lowercase().contains(q)
                        || d.org_name.to_lowercase().contains(q)
                })
            });
        json_of(docs).into()
    }
}

/// How often an instance asks the database whether a newer catalogue was
/// stored (by itself or another instance).
const VERSION_CHECK: Duration = Duration::from_secs(1);

/// An in-memory cache of the current stored catalogue. Only a cache: the
/// database says which version is current, asked at most once a second.
#[derive(Debug, Default)]
pub struct CatalogueCache {
    current: RwLock<Option<Arc<Snapshot>>>,
    /// When the database was last asked, and what it said.
    checked: std::sync::Mutex<Option<(std::time::Instant, Option<CatalogueMeta>)>>,
    /// One rebuild at a time.
    building: tokio::sync::Mutex<()>,
    /// This process's pace of catalogue calls (made on first use).
    pacer: std::sync::OnceLock<Pacer>,
}

impl CatalogueCache {
    async fn current_meta(&self, store: &dyn Store) -> StoreResult<Option<CatalogueMeta>> {
        if let Ok(checked) = self.checked.lock() {
            if let Some((at, meta)) = *checked {
                if at.elapsed() < VERSION_CHECK {
                    return Ok(meta);
                }
            }
        }
        let meta = store.catalogue_meta().await?;
        if let Ok(mut checked) = self.checked.lock() {
            *checked = Some((std::time::Instant::now(), meta));
        }
        Ok(meta)
    }

    /// Forget what the database said, so the next call asks again (after
    /// this instance stored a new version).
    pub fn invalidate(&self) {
        if let Ok(mut checked) = self.checked.lock() {
            *checked = None;
        }
    }

    /// The current catalogue, or `None` until the first build is stored.
    pub async fn snapshot(&self, store: &dyn Store) -> Result<Option<Arc<Snapshot>>, ApiError> {
        let Some(meta) = self.current_meta(store).await? else {
            return Ok(None);
        };
        if let Some(s) = self.current.read().await.as_ref() {
            if s.version == meta.version {
                return Ok(Some(s.clone()));
            }
        }
        let _building = self.building.lock().await;
        if let Some(s) = self.current.read().await.as_ref() {
            if s.version == meta.version {
                return Ok(Some(s.clone()));
            }
        }
        let rows = store.load_catalogue().await?;
        let snapshot = tokio::task::spawn_blocking(move || Snapshot::build(meta, &rows))
            .await
            .map_err(anyhow::Error::from)?
            .map_err(anyhow::Error::from)?;
        let snapshot = Arc::new(snapshot);
        *self.current.write().await = Some(snapshot.clone());
        Ok(Some(snapshot))
    }

    /// One (issuer, doc type); `None` when the catalogue does not hold it
    /// (yet), or is not built yet.
    pub async fn entry(
        &self,
        store: &dyn Store,
        org_id: &str,
        doc_type: &str,
    ) -> Result<Option<Entry>, ApiError> {
        let Some(snapshot) = self.snapshot(store).await? else {
            return Ok(None);
        };
        Ok(snapshot.entry(org_id, doc_type).cloned())
    }

    /// The pace of this process's catalogue calls.
    pub(crate) fn pacer(&self, per_second: u32) -> &Pacer {
        self.pacer.get_or_init(|| Pacer::new(per_second))
    }
}

/// The pace of catalogue calls to DigiLocker: evenly spaced, at most
/// `catalogue_calls_per_second`, whatever fails and however many passes run
/// in this process.
pub struct Pacer(governor::DefaultDirectRateLimiter);

impl std::fmt::Debug for Pacer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Pacer")
    }
}

impl Pacer {
    fn new(per_second: u32) -> Pacer {
        let rate =
            std::num::NonZeroU32::new(per_second.max(1)).unwrap_or(std::num::NonZeroU32::MIN);
        // A burst of one: calls spaced 1/rate apart, so no window of any
        // length sees more than its share.
        Pacer(governor::RateLimiter::direct(
            governor::Quota::per_second(rate).allow_burst(std::num::NonZeroU32::MIN),
        ))
    }

    pub(crate) async fn ready(&self) {
        self.0.until_ready().await;
    }
}
