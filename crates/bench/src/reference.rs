//! The reference server: what a bare axum + sqlx SQLite server does for the
//! gateway's three hottest calls, with no authentication, no encryption, no
//! logging and no metrics. It answers on the gateway's paths so the same wrk
//! scripts drive both.
//!
//! - `POST /api/digilocker`: one naive `INSERT` per call (its own implicit
//!   transaction) of a row like the gateway's: a UUID id and a few columns.
//! - `GET /api/digilocker/{id}/status`: one lookup by primary key.
//! - `GET /api/digilocker/documents`: a static 10,000-entry JSON answer shaped
//!   like the gateway's catalogue, uncompressed whatever the client accepts.

use std::path::Path;
use std::str::FromStr;

use axum::body::Bytes;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqliteSynchronous};

/// How long a reference request is valid, like the gateway's default TTL.
const TTL_SECONDS: i64 = 3600;

/// Entries in the reference catalogue, about what DigiLocker lists.
pub const CATALOGUE_ENTRIES: usize = 10_000;

#[derive(Clone)]
struct Reference {
    pool: SqlitePool,
    catalogue: Bytes,
}

/// Open (creating it if needed) the reference database at `path`, in WAL mode
/// with `synchronous=NORMAL`, as the gateway opens its own.
pub async fn open_database(path: &Path) -> Result<SqlitePool, sqlx::Error> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal);
    let pool = SqlitePool::connect_with(options).await?;
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS requests (
            id TEXT PRIMARY KEY,
            client_id TEXT NOT NULL,
            status TEXT NOT NULL,
            redirect_url TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            valid_upto INTEGER NOT NULL
        )",
    )
    .execute(&pool)
    .await?;
    Ok(pool)
}

/// The reference server's routes over an open database.
pub fn router(pool: SqlitePool) -> Router {
    let state = Reference {
        pool,
        catalogue: catalogue_json(CATALOGUE_ENTRIES),
    };
    Router::new()
        .route("/api/digilocker", post(create))
        .route("/api/digilocker/documents", get(documents))
        .route("/api/digilocker/{id}/status", get(status))
        .with_state(state)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CreateBody {
    redirect_url: String,
}

fn view(id: &str, status: &str, valid_upto: i64) -> serde_json::Value {
    serde_json::json!({
        "id": id,
        "status": status,
        "url": format!("http://127.0.0.1/digilocker/{id}/start"),
        "validUpto": valid_upto,
    })
}

fn now() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

fn internal(e: sqlx::Error) -> Response {
    (StatusCode::INTERNAL_SERVER_ERROR, e.to_string()).into_response()
}

async fn create(State(s): State<Reference>, Json(body): Json<CreateBody>) -> Response {
    let id = uuid::Uuid::new_v4().to_string();
    let created_at = now();
    let valid_upto = created_at + TTL_SECONDS;
    let inserted = sqlx::query(
        "INSERT INTO requests (id, client_id, status, redirect_url, created_at, valid_upto)
         VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&id)
    .bind("reference")
    .bind("unauthenticated")
    .bind(&body.redirect_url)
    .bind(created_at)
    .bind(valid_upto)
    .execute(&s.pool)
    .await;
    match inserted {
        Ok(_) => (
            StatusCode::CREATED,
            Json(view(&id, "unauthenticated", valid_upto)),
        )
            .into_response(),
        Err(e) => internal(e),
    }
}

async fn status(State(s): State<Reference>, UrlPath(id): UrlPath<String>) -> Response {
    let row =
        sqlx::query_as::<_, (String, i64)>("SELECT status, valid_upto FROM requests WHERE id = ?")
            .bind(&id)
            .fetch_optional(&s.pool)
            .await;
    match row {
        Ok(Some((status, valid_upto))) => Json(view(&id, &status, valid_upto)).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => internal(e),
    }
}

async fn documents(State(s): State<Reference>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        s.catalogue.clone(),
    )
        .into_response()
}

/// The catalogue answer, `{documents: [...]}`.
#[derive(Serialize)]
struct Catalogue {
    documents: Vec<Document>,
}

/// One catalogue entry, in the gateway's contract shape.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Document {
    available_formats: &'static [&'static str],
    description: String,
    doc_type: String,
    org_id: String,
    org_name: String,
    parameters: Vec<Parameter>,
}

#[derive(Serialize)]
struct Parameter {
    name: &'static str,
    description: &'static str,
}

const KINDS: &[&str] = &[
    "Department of Revenue",
    "Municipal Corporation",
    "State Board of Secondary Education",
    "Transport Department",
    "University",
    "Directorate of Health Services",
    "Police Department",
    "Co-operative Bank",
];
const PLACES: &[&str] = &[
    "Karnataka",
    "Tamil Nadu",
    "Maharashtra",
    "Uttar Pradesh",
    "West Bengal",
    "Gujarat",
    "Rajasthan",
    "Kerala",
    "Odisha",
    "Punjab",
];
const DESCRIPTIONS: &[&str] = &[
    "Income Certificate",
    "Caste Certificate",
    "Class X Marksheet",
    "Driving License",
    "Registration of Vehicles",
    "Birth Certificate",
    "Property Tax Receipt",
    "Degree Certificate",
    "Police Clearance Certificate",
    "Account Statement",
];
const PARAMETERS: &[Parameter] = &[
    Parameter {
        name: "certno",
        description: "Certificate Number",
    },
    Parameter {
        name: "applicantname",
        description: "Name of the Applicant",
    },
    Parameter {
        name: "dob",
        description: "Date of Birth (DD-MM-YYYY)",
    },
];

/// A deterministic catalogue of `entries` documents shaped like the
/// gateway's `{documents: [...]}` answer (2,000 issuers, five doc types
/// each), serialised once.
pub fn catalogue_json(entries: usize) -> Bytes {
    let documents: Vec<Document> = (0..entries)
        .map(|i| {
            let issuer = i / 5;
            let params = 1 + i % PARAMETERS.len();
            Document {
                available_formats: if i % 3 == 0 {
                    &["pdf", "xml"]
                } else {
                    &["pdf"]
                },
                description: DESCRIPTIONS[i % DESCRIPTIONS.len()].to_owned(),
                doc_type: doc_type(i),
                org_id: format!("{:06}", 1000 + issuer),
                org_name: format!(
                    "{}, {}",
                    KINDS[issuer % KINDS.len()],
                    PLACES[(issuer / KINDS.len()) % PLACES.len()]
                ),
                parameters: PARAMETERS
                    .iter()
                    .take(params)
                    .map(|p| Parameter {
                        name: p.name,
                        description: p.description,
                    })
                    .collect(),
            }
        })
        .collect();
    // Serialised straight from the structs (no intermediate `Value`), so
    // building it leaves no garbage in the reference's memory.
    serde_json::to_vec(&Catalogue { documents })
        .unwrap_or_default()
        .into()
}

/// Five upper-case letters, distinct for every `i` below 26^5.
fn doc_type(mut i: usize) -> String {
    let mut code = [b'A'; 5];
    for c in code.iter_mut().rev() {
        *c = b'A' + (i % 26) as u8;
        i /= 26;
    }
    String::from_utf8_lossy(&code).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogue_has_the_entries_and_shape_of_the_gateways() {
        let json: serde_json::Value =
            serde_json::from_slice(&catalogue_json(CATALOGUE_ENTRIES)).unwrap_or_default();
        let docs = json["documents"].as_array().cloned().unwrap_or_default();
        assert_eq!(docs.len(), CATALOGUE_ENTRIES);
        for key in [
            "availableFormats",
            "description",
            "docType",
            "orgId",
            "orgName",
            "parameters",
        ] {
            assert!(docs[0].get(key).is_some(), "missing {key}");
        }
        let pairs: std::collections::HashSet<_> = docs
            .iter()
            .map(|d| (d["orgId"].to_string(), d["docType"].to_string()))
            .collect();
        assert_eq!(pairs.len(), CATALOGUE_ENTRIES, "(orgId, docType) repeats");
    }
}
