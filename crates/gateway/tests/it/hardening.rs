//! What the database files hold after the things the second hostile run
//! (#26) caught: an upgrade from release 0.1 (its scope and file names in
//! clear, its tokens, details and files sealed with the master key alone)
//! leaves none of it in the files, on SQLite and on PostgreSQL; and on
//! PostgreSQL an erased request's data key leaves the table's files within
//! the stated bound, autovacuum or not, and ANALYZE copies none into the
//! catalog. The files are read raw: SQLite's main file, WAL and shared
//! memory; PostgreSQL's table, TOAST and index files (and `pg_statistic`)
//! after a CHECKPOINT.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use gateway::storage::{PgStore, SqliteStore, Store};
use serde_json::json;
use sqlx::ConnectOptions;

use crate::harness::{PgSchema, TestApp};

/// The PAN and licence numbers 0.1 kept in clear in `requests.scope`.
const PAN: &str = "ABCDE1234F";
const LICENCE: &str = "DL0420110012345";
/// The scope DigiLocker granted, as 0.1 stored it.
const OLD_SCOPE: &str = "files.issueddocs userdetails \
     in.gov.pan-PANCR-ABCDE1234F in.gov.transport-DRVLC-DL0420110012345";
/// A file 0.1 named after the PAN.
const OLD_FILENAME: &str = "PANCR-ABCDE1234F.pdf";
/// Stand-ins for what 0.1 sealed with the master key alone (no data key
/// to erase): tokens, user details, a file.
const OLD_TOKEN: &[u8] = b"release-0.1-token-sealed-with-the-master-key";
const OLD_DETAILS: &[u8] = b"release-0.1-user-details-sealed-with-the-master-key";
const OLD_FILE: &[u8] = b"release-0.1-file-sealed-with-the-master-key";

/// What must not be anywhere in the files after the upgrade.
fn leftovers() -> Vec<(&'static [u8], &'static str)> {
    vec![
        (PAN.as_bytes(), "the PAN number"),
        (LICENCE.as_bytes(), "the licence number"),
        (b"in.gov.pan-PANCR", "a document URI"),
        (OLD_FILENAME.as_bytes(), "the file name"),
        (OLD_TOKEN, "a token sealed with the master key alone"),
        (OLD_DETAILS, "user details sealed with the master key alone"),
        (OLD_FILE, "a file sealed with the master key alone"),
    ]
}

/// A licence number of this run only, in a second request's scope (what
/// the run finds can't be another run's).
fn unique_licence() -> String {
    format!("DL99{:011}", rand_digits())
}

fn rand_digits() -> u64 {
    u64::from_le_bytes(uuid::Uuid::new_v4().as_bytes()[..8].try_into().unwrap()) % 100_000_000_000
}

fn assert_no_leftovers(raw: &[u8], licence: &str, when: &str) {
    assert!(!raw.is_empty(), "nothing was read {when}");
    let mut all = leftovers();
    all.push((licence.as_bytes(), "this run's licence number"));
    for (needle, what) in all {
        assert!(
            !raw.windows(needle.len()).any(|w| w == needle),
            "{what} is still in the database files {when}"
        );
    }
}

/// Seed a database the way release 0.1 used it: a client, requests that
/// consented (scope in clear, the second one's with `$licence`; token and
/// details sealed with the master key), their files named after the PAN,
/// and a request 0.1's sweeper deleted (its bytes left where they were: 0.1
/// ran without `secure_delete`). A macro: the statements are the same on
/// both databases.
macro_rules! seed_release_0_1 {
    ($conn:expr, $licence:expr) => {{
        let conn = $conn;
        let second_scope = OLD_SCOPE.replace(LICENCE, $licence);
        sqlx::query(
            "INSERT INTO clients (client_id, secret_hash, product_instance_id, name, allowed_origins, disabled, created_at) \
             VALUES ('cl_old', $1, 'pid', 'a business of 0.1', '', 0, 1)",
        )
        .bind(vec![7u8; 32])
        .execute(&mut *conn)
        .await
        .unwrap();
        for (id, state, scope) in [
            ("req_kept", 1u8, OLD_SCOPE),
            ("req_kept_2", 3u8, second_scope.as_str()),
            ("req_swept", 2u8, OLD_SCOPE),
        ] {
            sqlx::query(
                "INSERT INTO requests (id, client_id, status, redirect_url, doc_types, state_hash, pkce_verifier, \
                 callback_used, created_at, valid_upto) \
                 VALUES ($1, 'cl_old', 'unauthenticated', 'https://business.example/kyc', 'PANCR,DRVLC', $2, $3, 0, 1, 4102444800)",
            )
            .bind(id)
            .bind(vec![state; 32])
            .bind(vec![state; 43])
            .execute(&mut *conn)
            .await
            .unwrap();
            // The callback: consent given, the scope stored as granted.
            sqlx::query(
                "UPDATE requests SET status = 'authenticated', callback_used = 1, token = $2, \
                 user_details = $3, scope = $4 WHERE id = $1",
            )
            .bind(id)
            .bind(OLD_TOKEN)
            .bind(OLD_DETAILS)
            .bind(scope)
            .execute(&mut *conn)
            .await
            .unwrap();
            sqlx::query(
                "INSERT INTO files (token_hash, request_id, client_id, content_type, filename, data, expires_at) \
                 VALUES ($1, $2, 'cl_old', 'application/pdf', $3, $4, 4102444800)",
            )
            .bind(vec![state; 32])
            .bind(id)
            .bind(OLD_FILENAME)
            .bind(OLD_FILE)
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        // 0.1's sweeper: the request (its file cascades) and its erasure log.
        sqlx::query("DELETE FROM requests WHERE id = 'req_swept'")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query(
            "INSERT INTO erasures (request_id, client_id, erased_at, instance) VALUES ('req_swept', 'cl_old', 2, 'old')",
        )
        .execute(&mut *conn)
        .await
        .unwrap();
    }};
}

/// The upgraded store still serves the old request, without what 0.1 kept.
async fn assert_upgraded(store: &dyn Store) {
    let r = store
        .get_request("cl_old", "req_kept", 0)
        .await
        .unwrap()
        .expect("the 0.1 request is still there");
    assert_eq!(r.status.as_str(), "authenticated");
    assert!(r.token.is_none() && r.user_details.is_none() && r.scope_sealed.is_none());
    assert!(store
        .get_request("cl_old", "req_swept", 0)
        .await
        .unwrap()
        .is_none());
}

/// SQLite's files, read by another process (never opened here: closing a
/// descriptor of a database file drops SQLite's locks on it).
async fn sqlite_files(path: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let out = tokio::process::Command::new("cat")
            .arg(format!("{}{suffix}", path.display()))
            .stderr(std::process::Stdio::null())
            .output()
            .await
            .unwrap();
        all.extend(out.stdout);
    }
    all
}

#[tokio::test]
async fn an_upgrade_from_release_0_1_leaves_nothing_of_it_in_the_sqlite_files() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gateway.sqlite");
    let licence = unique_licence();
    // Release 0.1: WAL, no `secure_delete`, its one migration.
    {
        let mut conn = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(&path)
            .create_if_missing(true)
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .foreign_keys(true)
            .connect()
            .await
            .unwrap();
        sqlx::migrate!("./migrations/sqlite")
            .run_to(1, &mut conn)
            .await
            .unwrap();
        seed_release_0_1!(&mut conn, &licence);
        let raw = sqlite_files(&path).await;
        assert!(
            raw.windows(PAN.len()).any(|w| w == PAN.as_bytes()),
            "the test's 0.1 database does not hold the PAN"
        );
        use sqlx::Connection;
        conn.close().await.unwrap();
    }
    // This release opens it: migrations, then the rewrite they ask for.
    let store = SqliteStore::open(&path).await.unwrap();
    assert_upgraded(&store).await;
    assert_no_leftovers(&sqlite_files(&path).await, &licence, "after the upgrade");
    // A clean stop, then a second start (no second rewrite needed).
    drop(store);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_no_leftovers(&sqlite_files(&path).await, &licence, "after a clean stop");
    let store = SqliteStore::open(&path).await.unwrap();
    assert_upgraded(&store).await;
    drop(store);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_no_leftovers(&sqlite_files(&path).await, &licence, "after a second start");
}

/// The files of every relation of the schema (tables, their TOAST tables,
/// indexes) as they are now, plus `also` (earlier files of them), after a
/// CHECKPOINT: PostgreSQL's own bytes on disk.
async fn pg_files(
    db: &sqlx::PgPool,
    tables: Option<&[&str]>,
    also: &[PathBuf],
) -> (Vec<PathBuf>, Vec<u8>) {
    sqlx::query("CHECKPOINT").execute(db).await.unwrap();
    let (data_dir,): (String,) = sqlx::query_as("SHOW data_directory")
        .fetch_one(db)
        .await
        .unwrap();
    let rels: Vec<(Option<String>,)> = sqlx::query_as(
        "WITH t AS (SELECT c.oid, c.reltoastrelid FROM pg_class c \
           WHERE c.relnamespace = current_schema()::regnamespace \
           AND ($1::text[] IS NULL OR c.relname = ANY($1))) \
         SELECT pg_relation_filepath(t.oid) FROM t \
         UNION ALL SELECT pg_relation_filepath(i.indexrelid) FROM t JOIN pg_index i ON i.indrelid = t.oid \
         UNION ALL SELECT pg_relation_filepath(t.reltoastrelid) FROM t WHERE t.reltoastrelid <> 0 \
         UNION ALL SELECT pg_relation_filepath(i.indexrelid) FROM t JOIN pg_index i ON i.indrelid = t.reltoastrelid",
    )
    .bind(tables.map(|t| t.iter().map(|s| s.to_string()).collect::<Vec<_>>()))
    .fetch_all(db)
    .await
    .unwrap();
    let now: Vec<PathBuf> = rels
        .into_iter()
        .filter_map(|(p,)| p)
        .map(|p| PathBuf::from(&data_dir).join(p))
        .collect();
    let mut raw = Vec::new();
    for base in now.iter().chain(also) {
        // A relation over 1 GB continues in base.1, base.2, …
        for segment in 0.. {
            let p = if segment == 0 {
                base.clone()
            } else {
                PathBuf::from(format!("{}.{segment}", base.display()))
            };
            match std::fs::read(&p) {
                Ok(bytes) => raw.extend(bytes),
                Err(_) => break,
            }
        }
    }
    (now, raw)
}

/// The files of the catalog `pg_statistic` (shared by every schema of the
/// database), after a CHECKPOINT.
async fn pg_statistic(db: &sqlx::PgPool) -> Vec<u8> {
    sqlx::query("CHECKPOINT").execute(db).await.unwrap();
    let (path,): (String,) = sqlx::query_as(
        "SELECT current_setting('data_directory') || '/' || pg_relation_filepath('pg_statistic')",
    )
    .fetch_one(db)
    .await
    .unwrap();
    std::fs::read(path).unwrap()
}

#[tokio::test]
async fn an_upgrade_from_release_0_1_leaves_nothing_of_it_in_the_postgresql_files() {
    let schema = PgSchema::create().await;
    let db = schema.pool().await;
    let licence = unique_licence();
    {
        let mut conn = db.acquire().await.unwrap();
        sqlx::migrate!("./migrations/postgres")
            .run_to(1, &mut *conn)
            .await
            .unwrap();
        seed_release_0_1!(&mut *conn, &licence);
    }
    // As the hostile run did: a VACUUM, then the files hold it all the same.
    // ANALYZE (autovacuum's, in real life) copies sample values of each
    // column, the scope's among them, into the catalog `pg_statistic`.
    sqlx::query("VACUUM ANALYZE requests, files")
        .execute(&db)
        .await
        .unwrap();
    let (before, raw) = pg_files(&db, None, &[]).await;
    assert!(
        raw.windows(PAN.len()).any(|w| w == PAN.as_bytes()),
        "the test's 0.1 tables do not hold the PAN"
    );
    let holds_licence = |raw: &[u8]| raw.windows(licence.len()).any(|w| w == licence.as_bytes());
    assert!(
        holds_licence(&pg_statistic(&db).await),
        "ANALYZE kept no sample of the test's 0.1 scope"
    );
    // This release opens it: migrations, then the rewrite they ask for.
    let store = PgStore::open(&schema.url).await.unwrap();
    assert_upgraded(&store).await;
    let (_, raw) = pg_files(&db, None, &before).await;
    assert_no_leftovers(&raw, &licence, "after the upgrade");
    assert!(
        !holds_licence(&pg_statistic(&db).await),
        "pg_statistic still holds a sample of the dropped scope column"
    );
    let (left,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rewrites_due")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(left, 0, "the upgrade's rewrite is still due");
    // A second start has nothing to rewrite, and the files stay clean.
    drop(store);
    let store = PgStore::open(&schema.url).await.unwrap();
    assert_upgraded(&store).await;
    let (_, raw) = pg_files(&db, None, &before).await;
    assert_no_leftovers(&raw, &licence, "after a second start");
    db.close().await;
}

/// On PostgreSQL a revoke leaves the old versions of the request's row,
/// its sealed data key in them, in the table's pages; autovacuum may never
/// come (it is off for this table here), and a plain VACUUM would free the
/// space without overwriting it. Within the bound (the rewrite interval,
/// one sweep interval, the wait for older transactions and the rewrite
/// itself) the key is in none of the table's files.
#[tokio::test]
async fn on_postgresql_an_erased_data_key_leaves_the_table_files_within_the_bound() {
    let pg = PgSchema::create().await;
    let t = TestApp::spawn_with(|c| {
        c.database_url = Some(pg.url.clone());
        c.erasure_rewrite_interval = Duration::from_secs(2);
    })
    .await;
    let db = pg.pool().await;
    sqlx::query(
        "ALTER TABLE requests SET (autovacuum_enabled = false, toast.autovacuum_enabled = false)",
    )
    .execute(&db)
    .await
    .unwrap();
    let (id, _) = t.authenticated().await;
    let (key,): (Vec<u8>,) = sqlx::query_as("SELECT data_key FROM requests WHERE id = $1")
        .bind(&id)
        .fetch_one(&db)
        .await
        .unwrap();
    let holds_key = |raw: &[u8]| raw.windows(key.len()).any(|w| w == key.as_slice());
    let (first, raw) = pg_files(&db, Some(&["requests"]), &[]).await;
    assert!(
        holds_key(&raw),
        "the test cannot see the live key in the table's files"
    );
    // ANALYZE (autovacuum's, in real life) samples no data key into the
    // catalog, where no erasure would reach it. (With a few rows of
    // distinct values, it would keep every one as a histogram bound.)
    for _ in 0..5 {
        t.create().await;
    }
    sqlx::query("ANALYZE requests").execute(&db).await.unwrap();
    assert!(
        !holds_key(&pg_statistic(&db).await),
        "ANALYZE copied a data key into pg_statistic"
    );

    let (s, v) = t
        .get(&format!("/api/digilocker/{id}/revoke"), &t.creds)
        .await;
    assert_eq!((s, v), (200, json!({"success": true})));
    let revoked = Instant::now();
    // The stated bound, with this test's settings: the rewrite interval (2
    // s), one sweep interval (0.3 s), the wait for older transactions (at
    // most 5 s) and the rewrite itself; doubled for a loaded machine.
    let bound = Duration::from_secs(2 * (2 + 1 + 5 + 2));
    loop {
        let (_, raw) = pg_files(&db, Some(&["requests"]), &first).await;
        if !holds_key(&raw) {
            break;
        }
        assert!(
            revoked.elapsed() < bound,
            "the erased data key is still in the table's files {:?} after the revoke",
            revoked.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let (s, st) = t
        .get(&format!("/api/digilocker/{id}/status"), &t.creds)
        .await;
    assert_eq!((s, st["status"].as_str()), (200, Some("revoked")));
    db.close().await;
}
