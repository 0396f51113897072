//! One storage suite, run against both backends: every `Store` method, and
//! the guarantees several instances rely on (single-use callbacks, exclusive
//! leases, erasing once across concurrent sweepers, catalogue versions).
//! Each case runs twice, `<case>::sqlite` and `<case>::postgres`; "two
//! instances" are two stores with their own pools on one database.

use std::collections::HashSet;
use std::sync::Arc;

use gateway::storage::{
    CatalogueHealth, CatalogueRow, ClientRecord, EventKind, FileRecord, IssuerState, NewEvent,
    NewRequest, NewUpstreamRevoke, PgStore, SqliteStore, StepCount, Store, UpstreamRevokeOutcome,
    WebhookSettings,
};

use crate::harness::PgSchema;
use gateway::domain::RequestStatus;

#[derive(Clone, Copy, Debug)]
enum Backend {
    Sqlite,
    Postgres,
}

/// One empty database of either kind.
enum Db {
    Sqlite(tempfile::TempDir),
    Postgres(PgSchema),
}

impl Db {
    async fn new(backend: Backend) -> Db {
        match backend {
            Backend::Sqlite => Db::Sqlite(tempfile::tempdir().unwrap()),
            Backend::Postgres => Db::Postgres(PgSchema::create().await),
        }
    }

    /// A store with its own pool on this database, as another instance would have.
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite(dir) => Arc::new(
                SqliteStore::open(&dir.path().join("gateway.sqlite"))
                    .await
                    .unwrap(),
            ),
            Db::Postgres(schema) => Arc::new(PgStore::open(&schema.url).await.unwrap()),
        }
    }
}

/// Run a case on both backends, as `<case>::sqlite` and `<case>::postgres`.
macro_rules! on_both {
    ($($case:ident),* $(,)?) => {$(
        mod $case {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$case(super::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$case(super::Backend::Postgres).await
            }
        }
    )*};
}

on_both!(
    clients_are_stored_listed_disabled_and_rotated,
    requests_are_found_only_live_and_by_their_client,
    creates_sent_together_with_a_held_key_insert_all_but_it,
    request_status_moves_only_forward,
    a_callback_is_claimed_once_under_concurrency,
    files_die_with_their_link_or_their_request,
    concurrent_sweepers_erase_each_request_once,
    catalogue_replacement_makes_a_new_version,
    issuer_states_are_upserted_and_forgotten,
    an_upstream_revoke_is_queued_with_the_erasure_and_claimed_once,
    a_lease_has_one_holder_at_a_time,
    the_consoles_counts_look_ups_and_deliveries,
);

const NOW: i64 = 1_700_000_000;

fn client(id: &str, created_at: i64) -> ClientRecord {
    ClientRecord {
        client_id: id.into(),
        secret_hash: gateway::crypto::hash_secret(&format!("secret of {id}")),
        product_instance_id: format!("instance of {id}"),
        name: format!("Client {id}"),
        allowed_origins: "https://a.example https://b.example".into(),
        disabled: 0,
        created_at,
        ..Default::default()
    }
}

fn request(id: &str, client_id: &str, valid_upto: i64) -> NewRequest {
    NewRequest {
        id: id.into(),
        client_id: client_id.into(),
        redirect_url: "https://business.example/done?s=1".into(),
        doc_types: "PANCR DRVLC".into(),
        state_hash: state_hash(id),
        data_key: format!("sealed key of {id}").into_bytes(),
        journey_secrets: format!("sealed secrets of {id}").into_bytes(),
        idempotency_key: None,
        idempotency_fingerprint: None,
        created_at: NOW - 10,
        valid_upto,
        trace_id: String::new(),
    }
}

fn event(kind: EventKind) -> NewEvent {
    NewEvent::new(kind, serde_json::json!({}), NOW)
}

fn state_hash(request_id: &str) -> Vec<u8> {
    gateway::crypto::hash_secret(&format!("state of {request_id}"))
}

fn file(token: &str, request_id: &str, expires_at: i64) -> FileRecord {
    FileRecord {
        token_hash: gateway::crypto::hash_secret(token),
        request_id: request_id.into(),
        client_id: "c1".into(),
        content_type: "application/pdf".into(),
        name_sealed: format!("sealed name of {token}").into_bytes(),
        data: format!("sealed bytes of {token}").into_bytes(),
        expires_at,
    }
}

fn catalogue_row(org: &str, doc: &str) -> CatalogueRow {
    CatalogueRow {
        issuer_id: format!("in.gov.{org}"),
        org_id: org.into(),
        doc_type: doc.into(),
        org_name: format!("Issuer {org}"),
        description: format!("{doc} of {org}"),
        formats: r#"["pdf"]"#.into(),
        parameters: r#"[{"name":"no","description":"Number"}]"#.into(),
    }
}

async fn clients_are_stored_listed_disabled_and_rotated(backend: Backend) {
    let db = Db::new(backend).await;
    let s = db.open().await;
    assert_eq!(
        s.backend(),
        match backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    );
    s.ping().await.unwrap();
    assert!(s.get_client("c1").await.unwrap().is_none());
    assert!(s.list_clients().await.unwrap().is_empty());
    s.insert_client(&client("c2", 20)).await.unwrap();
    s.insert_client(&client("c1", 10)).await.unwrap();
    assert!(
        s.insert_client(&client("c1", 30)).await.is_err(),
        "client ids are unique"
    );
    let c1 = s.get_client("c1").await.unwrap().unwrap();
    assert_eq!(c1.secret_hash, client("c1", 10).secret_hash);
    assert_eq!(
        (
            c1.product_instance_id.as_str(),
            c1.name.as_str(),
            c1.disabled,
            c1.created_at
        ),
        ("instance of c1", "Client c1", 0, 10)
    );
    assert_eq!(c1.allowed_origins, "https://a.example https://b.example");
    let listed: Vec<String> = s
        .list_clients()
        .await
        .unwrap()
        .into_iter()
        .map(|c| c.client_id)
        .collect();
    assert_eq!(listed, ["c1", "c2"], "listed oldest first");

    let generation = s.client_generation().await.unwrap();
    assert!(s.set_client_disabled("c1", true, NOW).await.unwrap());
    assert_eq!(s.get_client("c1").await.unwrap().unwrap().disabled, 1);
    assert!(s.set_client_disabled("c1", false, NOW).await.unwrap());
    assert_eq!(s.get_client("c1").await.unwrap().unwrap().disabled, 0);
    assert!(!s.set_client_disabled("nobody", true, NOW).await.unwrap());
    assert!(
        s.client_generation().await.unwrap() > generation,
        "a client change moves the generation caches compare"
    );

    assert!(s.set_client_secret_hash("c2", b"new hash").await.unwrap());
    assert_eq!(
        s.get_client("c2").await.unwrap().unwrap().secret_hash,
        b"new hash"
    );
    assert_eq!(
        s.get_client("c1").await.unwrap().unwrap().secret_hash,
        client("c1", 10).secret_hash,
        "other clients untouched"
    );
    assert!(!s.set_client_secret_hash("nobody", b"x").await.unwrap());
}

async fn requests_are_found_only_live_and_by_their_client(backend: Backend) {
    let db = Db::new(backend).await;
    let s = db.open().await;
    s.insert_client(&client("c1", 0)).await.unwrap();
    s.insert_client(&client("c2", 0)).await.unwrap();
    let mut r = request("r1", "c1", NOW + 100);
    r.idempotency_key = Some("key-1".into());
    r.idempotency_fingerprint = Some(b"fingerprint of r1".to_vec());
    assert!(s.insert_request(&r).await.unwrap());
    assert!(
        s.insert_request(&request("r-orphan", "no-such-client", NOW + 100))
            .await
            .is_err(),
        "a request needs its client"
    );

    let got = s.get_request("c1", "r1", NOW).await.unwrap().unwrap();
    assert_eq!(
        (
            got.status.as_str(),
            got.callback_used,
            got.valid_upto,
            got.created_at
        ),
        ("unauthenticated", 0, NOW + 100, NOW - 10)
    );
    assert_eq!(
        (got.redirect_url.as_str(), got.doc_types.as_str()),
        ("https://business.example/done?s=1", "PANCR DRVLC")
    );
    assert_eq!(got.journey_secrets, b"sealed secrets of r1");
    assert_eq!(
        (
            got.token,
            got.user_details,
            got.scope_sealed,
            got.consent_error_code
        ),
        (None, None, None, None)
    );
    assert_eq!(
        got.idempotency_fingerprint.as_deref(),
        Some(b"fingerprint of r1".as_slice())
    );
    assert!(
        s.get_request("c2", "r1", NOW).await.unwrap().is_none(),
        "another client's request is not found"
    );
    assert!(
        s.get_request("c1", "r1", NOW + 100)
            .await
            .unwrap()
            .is_none(),
        "not found once valid_upto is reached"
    );
    assert!(s.get_request("c1", "nope", NOW).await.unwrap().is_none());

    assert_eq!(
        s.get_live_request("r1", NOW)
            .await
            .unwrap()
            .unwrap()
            .client_id,
        "c1"
    );
    assert!(s.get_live_request("r1", NOW + 100).await.unwrap().is_none());

    assert_eq!(
        s.find_idempotent("c1", "key-1", NOW)
            .await
            .unwrap()
            .unwrap()
            .id,
        "r1"
    );
    assert!(
        s.find_idempotent("c2", "key-1", NOW)
            .await
            .unwrap()
            .is_none(),
        "idempotency keys are per client"
    );
    assert!(s
        .find_idempotent("c1", "key-2", NOW)
        .await
        .unwrap()
        .is_none());
    assert!(s
        .find_idempotent("c1", "key-1", NOW + 100)
        .await
        .unwrap()
        .is_none());
    let mut again = request("r2", "c1", NOW + 100);
    again.idempotency_key = Some("key-1".into());
    assert!(
        !s.insert_request(&again).await.unwrap(),
        "one request per client and idempotency key"
    );
    assert!(s.get_request("c1", "r2", NOW).await.unwrap().is_none());
    // Once its request expired, the key can be used afresh.
    s.release_expired_idempotency_key("c1", "key-1", NOW)
        .await
        .unwrap();
    assert!(
        !s.insert_request(&again).await.unwrap(),
        "the request holding the key is still live"
    );
    s.release_expired_idempotency_key("c1", "key-1", NOW + 100)
        .await
        .unwrap();
    assert!(s.insert_request(&again).await.unwrap());
    let mut other = request("r3", "c2", NOW + 100);
    other.idempotency_key = Some("key-1".into());
    s.insert_request(&other).await.unwrap();
    // Requests without a key don't collide with each other.
    s.insert_request(&request("r4", "c1", NOW + 100))
        .await
        .unwrap();
    s.insert_request(&request("r5", "c1", NOW + 100))
        .await
        .unwrap();
}

/// Creates sent at once share the writer's batches: those whose key is
/// held are each answered "not inserted" (and get no `created` event),
/// the others inserted, whatever batch they land in.
async fn creates_sent_together_with_a_held_key_insert_all_but_it(backend: Backend) {
    let db = Db::new(backend).await;
    let s = db.open().await;
    s.insert_client(&client("c1", 0)).await.unwrap();
    let keyed = |id: &str| {
        let mut r = request(id, "c1", NOW + 100);
        r.idempotency_key = Some("order-7".into());
        r
    };
    assert!(s.insert_request(&keyed("first")).await.unwrap());
    let sent: Vec<_> = (0..100)
        .map(|i| {
            if i % 10 == 3 {
                keyed(&format!("again-{i}"))
            } else {
                request(&format!("fresh-{i}"), "c1", NOW + 100)
            }
        })
        .collect();
    let answers = futures::future::join_all(sent.iter().map(|r| s.insert_request(r))).await;
    for (r, answer) in sent.iter().zip(answers) {
        let inserted = answer.unwrap();
        let held = r.id.starts_with("again");
        assert_eq!(inserted, !held, "{}", r.id);
        assert_eq!(
            s.get_request("c1", &r.id, NOW).await.unwrap().is_some(),
            !held,
            "{} stored",
            r.id
        );
        let events = s.request_events(&r.id).await.unwrap();
        assert_eq!(
            events.len(),
            usize::from(!held),
            "{} events: {events:?}",
            r.id
        );
    }
}

async fn request_status_moves_only_forward(backend: Backend) {
    let db = Db::new(backend).await;
    let s = db.open().await;
    s.insert_client(&client("c1", 0)).await.unwrap();
    s.insert_request(&request("denied", "c1", NOW + 100))
        .await
        .unwrap();
    s.insert_request(&request("ok", "c1", NOW + 100))
        .await
        .unwrap();

    s.set_consent_failed(
        "denied",
        "user_consent_not_given",
        "The user declined.",
        &event(EventKind::ConsentDenied),
    )
    .await
    .unwrap();
    let r = s.get_request("c1", "denied", NOW).await.unwrap().unwrap();
    assert_eq!(r.status, RequestStatus::Unauthenticated);
    assert_eq!(
        r.consent_error_code.as_deref(),
        Some("user_consent_not_given")
    );
    assert_eq!(
        r.consent_error_message.as_deref(),
        Some("The user declined.")
    );

    s.update_token("ok", b"too early").await.unwrap();
    assert_eq!(
        s.get_request("c1", "ok", NOW).await.unwrap().unwrap().token,
        None,
        "no token before authentication"
    );
    s.set_authenticated(
        "ok",
        b"token-1",
        b"details",
        b"sealed scope",
        &event(EventKind::ConsentGiven),
    )
    .await
    .unwrap();
    let r = s.get_request("c1", "ok", NOW).await.unwrap().unwrap();
    assert_eq!(
        (
            r.status.as_str(),
            r.token.as_deref(),
            r.user_details.as_deref(),
            r.scope_sealed.as_deref()
        ),
        (
            "authenticated",
            Some(&b"token-1"[..]),
            Some(&b"details"[..]),
            Some(&b"sealed scope"[..])
        )
    );
    s.set_authenticated(
        "ok",
        b"token-2",
        b"other",
        b"other scope",
        &event(EventKind::ConsentGiven),
    )
    .await
    .unwrap();
    assert_eq!(
        s.get_request("c1", "ok", NOW)
            .await
            .unwrap()
            .unwrap()
            .token
            .as_deref(),
        Some(&b"token-1"[..]),
        "authenticated once"
    );
    s.set_consent_failed("ok", "x", "y", &event(EventKind::JourneyFailed))
        .await
        .unwrap();
    assert_eq!(
        s.get_request("c1", "ok", NOW)
            .await
            .unwrap()
            .unwrap()
            .consent_error_code,
        None,
        "no failure after success"
    );
    s.update_token("ok", b"token-3").await.unwrap();
    assert_eq!(
        s.get_request("c1", "ok", NOW)
            .await
            .unwrap()
            .unwrap()
            .token
            .as_deref(),
        Some(&b"token-3"[..])
    );

    s.insert_file(
        &file("t-ok", "ok", NOW + 50),
        &event(EventKind::DocumentFetched),
    )
    .await
    .unwrap();
    assert!(s
        .revoke("ok", &event(EventKind::Revoked), None)
        .await
        .unwrap());
    assert!(
        !s.revoke("ok", &event(EventKind::Revoked), None)
            .await
            .unwrap(),
        "revoked once"
    );
    let r = s.get_request("c1", "ok", NOW).await.unwrap().unwrap();
    assert_eq!(
        (
            r.status.as_str(),
            r.token,
            r.user_details,
            r.scope_sealed,
            r.journey_secrets.len()
        ),
        ("revoked", None, None, None, 0),
        "revoking erases the tokens, details and scope"
    );
    // A link handed out before the revoke lives until its own expiry, and
    // the data key with it.
    assert!(r.data_key.is_some());
    assert!(s
        .get_file(&gateway::crypto::hash_secret("t-ok"), NOW)
        .await
        .unwrap()
        .is_some());
    assert_eq!(s.sweep_links(NOW + 49, 100).await.unwrap(), 0);
    assert_eq!(
        s.sweep_links(NOW + 50, 100).await.unwrap(),
        2,
        "the link, then the key"
    );
    let r = s.get_request("c1", "ok", NOW).await.unwrap().unwrap();
    assert_eq!(r.data_key, None, "the key goes with the last link");
    assert!(s
        .get_file(&gateway::crypto::hash_secret("t-ok"), NOW)
        .await
        .unwrap()
        .is_none());
    let kinds: Vec<String> = s
        .request_events("ok")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds,
        ["created", "consent_given", "document_fetched", "revoked"],
        "each change left its event, once"
    );
    s.update_token("ok", b"token-4").await.unwrap();
    assert_eq!(
        s.get_request("c1", "ok", NOW).await.unwrap().unwrap().token,
        None,
        "no token after revocation"
    );
}

async fn a_callback_is_claimed_once_under_concurrency(backend: Backend) {
    let db = Db::new(backend).await;
    let (a, b) = (db.open().await, db.open().await);
    a.insert_client(&client("c1", 0)).await.unwrap();
    a.insert_request(&request("r1", "c1", NOW + 100))
        .await
        .unwrap();
    a.insert_request(&request("old", "c1", NOW - 1))
        .await
        .unwrap();
    // Sixteen callbacks with the same state at once, half on each "instance".
    let claims = (0..16).map(|i| {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move { s.claim_callback(&state_hash("r1"), NOW).await.unwrap() })
    });
    let won: Vec<_> = futures::future::join_all(claims)
        .await
        .into_iter()
        .filter_map(|r| r.unwrap())
        .collect();
    assert_eq!(won.len(), 1, "exactly one callback may proceed");
    assert_eq!((won[0].id.as_str(), won[0].callback_used), ("r1", 1));
    assert!(
        a.claim_callback(&state_hash("r1"), NOW)
            .await
            .unwrap()
            .is_none(),
        "used"
    );
    assert!(
        a.claim_callback(&state_hash("old"), NOW)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    assert!(
        a.claim_callback(&state_hash("unknown"), NOW)
            .await
            .unwrap()
            .is_none(),
        "unknown"
    );
    // A request that is no longer waiting for its callback can't be claimed.
    a.insert_request(&request("revoked", "c1", NOW + 100))
        .await
        .unwrap();
    a.set_authenticated("revoked", b"t", b"d", b"s", &event(EventKind::ConsentGiven))
        .await
        .unwrap();
    assert!(a
        .revoke("revoked", &event(EventKind::Revoked), None)
        .await
        .unwrap());
    assert!(a
        .claim_callback(&state_hash("revoked"), NOW)
        .await
        .unwrap()
        .is_none());
}

async fn files_die_with_their_link_or_their_request(backend: Backend) {
    let db = Db::new(backend).await;
    let s = db.open().await;
    s.insert_client(&client("c1", 0)).await.unwrap();
    s.insert_request(&request("r1", "c1", NOW + 100))
        .await
        .unwrap();
    let fetched = event(EventKind::DocumentFetched);
    s.insert_file(&file("f1", "r1", NOW + 10), &fetched)
        .await
        .unwrap();
    s.insert_file(
        &file("f-long", "r1", NOW + 1000),
        &event(EventKind::DocumentFetched),
    )
    .await
    .unwrap();
    assert!(
        s.insert_file(
            &file("f-orphan", "nope", NOW + 10),
            &event(EventKind::DocumentFetched)
        )
        .await
        .is_err(),
        "a file needs its request"
    );
    let live = s
        .get_file(&gateway::crypto::hash_secret("f1"), NOW)
        .await
        .unwrap()
        .unwrap();
    let f = &live.file;
    assert_eq!(
        (
            f.request_id.as_str(),
            f.client_id.as_str(),
            f.content_type.as_str(),
            f.name_sealed.as_slice()
        ),
        (
            "r1",
            "c1",
            "application/pdf",
            b"sealed name of f1".as_slice()
        )
    );
    assert_eq!(f.data, b"sealed bytes of f1");
    assert_eq!(f.expires_at, NOW + 10);
    assert_eq!(
        live.data_key.as_deref(),
        Some(b"sealed key of r1".as_slice())
    );
    let events = s.request_events("r1").await.unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.kind == "document_fetched")
            .count(),
        2,
        "a fetch is in the trail; a failed one is not"
    );
    assert!(
        s.get_file(&gateway::crypto::hash_secret("f1"), NOW + 10)
            .await
            .unwrap()
            .is_none(),
        "the link has expired"
    );
    assert!(s
        .get_file(&gateway::crypto::hash_secret("f-long"), NOW + 99)
        .await
        .unwrap()
        .is_some());
    assert!(
        s.get_file(&gateway::crypto::hash_secret("f-long"), NOW + 100)
            .await
            .unwrap()
            .is_none(),
        "the request has expired, so has its file"
    );
    assert!(s
        .get_file(&gateway::crypto::hash_secret("nope"), NOW)
        .await
        .unwrap()
        .is_none());
}

async fn concurrent_sweepers_erase_each_request_once(backend: Backend) {
    let db = Db::new(backend).await;
    let (a, b) = (db.open().await, db.open().await);
    a.insert_client(&client("c1", 0)).await.unwrap();
    let mut expired = HashSet::new();
    // Enough rows for the two sweeps to overlap; half of the expired
    // requests' file links have expired too, so both the per-request and the
    // expired-link deletions reach the same rows.
    for i in 0..400 {
        let id = format!("exp-{i}");
        a.insert_request(&request(&id, "c1", NOW - i))
            .await
            .unwrap();
        let link_expires = if i % 2 == 0 { NOW } else { NOW + 500 };
        a.insert_file(
            &file(&format!("file-of-{id}"), &id, link_expires),
            &event(EventKind::DocumentFetched),
        )
        .await
        .unwrap();
        expired.insert(id);
    }
    a.insert_request(&request("live", "c1", NOW + 100))
        .await
        .unwrap();
    a.insert_file(
        &file("live-link", "live", NOW + 50),
        &event(EventKind::DocumentFetched),
    )
    .await
    .unwrap();
    a.insert_file(
        &file("dead-link", "live", NOW),
        &event(EventKind::DocumentFetched),
    )
    .await
    .unwrap();

    // Both sweep in small steps at the same time until nothing is left.
    async fn sweep_all(s: Arc<dyn Store>) -> Vec<String> {
        let mut all = Vec::new();
        loop {
            let step = s.sweep_step(NOW, 37).await.unwrap();
            let links = s.sweep_links(NOW, 37).await.unwrap();
            if step.requests.is_empty() && links == 0 {
                return all;
            }
            all.extend(step.requests);
        }
    }
    {
        let (ra, rb) = tokio::join!(sweep_all(a.clone()), sweep_all(b.clone()));
        let (sa, sb): (HashSet<String>, HashSet<String>) =
            (ra.into_iter().collect(), rb.into_iter().collect());
        assert!(
            sa.is_disjoint(&sb),
            "both sweepers erased {:?}",
            sa.intersection(&sb).collect::<Vec<_>>()
        );
        for id in sa.iter().chain(&sb) {
            assert!(expired.remove(id), "{id} erased twice or never expired");
        }
    }
    assert!(expired.is_empty(), "never erased: {expired:?}");
    for i in 0..400 {
        let id = format!("exp-{i}");
        assert_eq!(
            a.erasure_count(&id).await.unwrap(),
            1,
            "{id} is in the erasure log once"
        );
        assert!(
            a.get_live_request(&id, 0).await.unwrap().is_none(),
            "{id} is gone"
        );
        assert!(
            a.get_file(&gateway::crypto::hash_secret(&format!("file-of-{id}")), 0)
                .await
                .unwrap()
                .is_none(),
            "its file is gone"
        );
    }
    assert_eq!(a.erasure_count("live").await.unwrap(), 0);
    assert!(
        a.get_live_request("live", NOW).await.unwrap().is_some(),
        "live requests stay"
    );
    assert!(
        a.get_file(&gateway::crypto::hash_secret("live-link"), NOW)
            .await
            .unwrap()
            .is_some(),
        "live links stay"
    );
    assert!(
        a.get_file(&gateway::crypto::hash_secret("dead-link"), 0)
            .await
            .unwrap()
            .is_none(),
        "expired links are deleted, not just hidden"
    );
    assert!(
        a.sweep_step(NOW, 1000).await.unwrap().requests.is_empty(),
        "nothing left to erase"
    );
}

async fn catalogue_replacement_makes_a_new_version(backend: Backend) {
    let db = Db::new(backend).await;
    let (a, b) = (db.open().await, db.open().await);
    assert_eq!(a.catalogue_meta().await.unwrap(), None);
    assert!(a.load_catalogue().await.unwrap().is_empty());
    let first = vec![
        catalogue_row("org2", "DRVLC"),
        catalogue_row("org1", "PANCR"),
        catalogue_row("org1", "AADHR"),
    ];
    let meta = a
        .replace_catalogue(&first, NOW, Default::default())
        .await
        .unwrap();
    assert_eq!((meta.version, meta.built_at, meta.entries), (1, NOW, 3));
    assert_eq!(
        b.catalogue_meta().await.unwrap(),
        Some(meta),
        "every instance sees the current version"
    );
    let loaded = b.load_catalogue().await.unwrap();
    let keys: Vec<(&str, &str)> = loaded
        .iter()
        .map(|r| (r.org_id.as_str(), r.doc_type.as_str()))
        .collect();
    assert_eq!(
        keys,
        [("org1", "AADHR"), ("org1", "PANCR"), ("org2", "DRVLC")],
        "sorted by issuer, doc type"
    );
    assert_eq!(loaded[1], catalogue_row("org1", "PANCR"));
    assert_eq!(
        b.find_catalogue_entry("org2", "DRVLC").await.unwrap(),
        Some(catalogue_row("org2", "DRVLC"))
    );
    assert_eq!(b.find_catalogue_entry("org2", "PANCR").await.unwrap(), None);

    let second: Vec<CatalogueRow> = (0..2500)
        .map(|i| catalogue_row(&format!("org{i:04}"), "NEWDOC"))
        .collect();
    let meta = b
        .replace_catalogue(&second, NOW + 5, Default::default())
        .await
        .unwrap();
    assert_eq!(
        (meta.version, meta.built_at, meta.entries),
        (2, NOW + 5, 2500)
    );
    assert_eq!(
        a.load_catalogue().await.unwrap().len(),
        2500,
        "the old version is replaced, not merged"
    );
    assert_eq!(a.find_catalogue_entry("org1", "PANCR").await.unwrap(), None);
    assert!(a
        .find_catalogue_entry("org2499", "NEWDOC")
        .await
        .unwrap()
        .is_some());

    // Two builds stored at once get distinct versions; the later one is current.
    let (ma, mb) = tokio::join!(
        {
            let a = a.clone();
            let rows = first.clone();
            async move {
                a.replace_catalogue(&rows, NOW + 10, Default::default())
                    .await
                    .unwrap()
            }
        },
        {
            let b = b.clone();
            let rows = second[..10].to_vec();
            async move {
                b.replace_catalogue(&rows, NOW + 10, Default::default())
                    .await
                    .unwrap()
            }
        },
    );
    let mut versions = [ma.version, mb.version];
    versions.sort();
    assert_eq!(versions, [3, 4]);
    let current = a.catalogue_meta().await.unwrap().unwrap();
    let winner = if ma.version == 4 { ma } else { mb };
    assert_eq!(current, winner);
    assert_eq!(
        a.load_catalogue().await.unwrap().len() as i64,
        winner.entries,
        "no mix of two builds"
    );
}

async fn a_lease_has_one_holder_at_a_time(backend: Backend) {
    let db = Db::new(backend).await;
    let (a, b) = (db.open().await, db.open().await);
    let tries = (0..12).map(|i| {
        let s = if i % 2 == 0 { a.clone() } else { b.clone() };
        tokio::spawn(async move {
            (
                i,
                s.try_lease("job", &format!("holder-{i}"), NOW, NOW + 60)
                    .await
                    .unwrap(),
            )
        })
    });
    let winners: Vec<usize> = futures::future::join_all(tries)
        .await
        .into_iter()
        .map(|r| r.unwrap())
        .filter(|(_, won)| *won)
        .map(|(i, _)| i)
        .collect();
    assert_eq!(winners.len(), 1, "one holder, got {winners:?}");
    let holder = format!("holder-{}", winners[0]);
    let other = "someone-else";
    assert!(
        a.try_lease("job", &holder, NOW + 30, NOW + 90)
            .await
            .unwrap(),
        "the holder renews"
    );
    assert!(
        !b.try_lease("job", other, NOW + 60, NOW + 120)
            .await
            .unwrap(),
        "renewed until NOW + 90"
    );
    assert!(
        b.try_lease("other-job", other, NOW, NOW + 60)
            .await
            .unwrap(),
        "leases are per name"
    );
    assert!(
        b.try_lease("job", other, NOW + 90, NOW + 150)
            .await
            .unwrap(),
        "an expired lease can be taken over"
    );
    assert!(
        !a.try_lease("job", &holder, NOW + 91, NOW + 150)
            .await
            .unwrap(),
        "the old holder lost it"
    );
    a.release_lease("job", &holder).await.unwrap();
    assert!(
        !a.try_lease("job", "third", NOW + 92, NOW + 150)
            .await
            .unwrap(),
        "only the holder can release"
    );
    b.release_lease("job", other).await.unwrap();
    assert!(
        a.try_lease("job", "third", NOW + 92, NOW + 150)
            .await
            .unwrap(),
        "released"
    );
}

/// A rolling upgrade: the new release has applied a migration the old one
/// doesn't know; the old one must still start (and work) on that schema.
#[tokio::test]
async fn an_older_release_starts_on_a_schema_migrated_by_a_newer_one() {
    let schema = PgSchema::create().await;
    PgStore::open(&schema.url).await.unwrap();
    let db = schema.pool().await;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from a newer release', TRUE, '\\x00', 1)",
    )
    .execute(&db)
    .await
    .unwrap();
    sqlx::query("ALTER TABLE requests ADD COLUMN newer_release_column TEXT")
        .execute(&db)
        .await
        .unwrap();
    let old = PgStore::open(&schema.url).await.unwrap();
    old.insert_client(&client("c1", 0)).await.unwrap();
    old.insert_request(&request("r1", "c1", NOW + 100))
        .await
        .unwrap();
    assert!(old.get_request("c1", "r1", NOW).await.unwrap().is_some());
}

/// Production connects over TLS (`sslmode=require` in the URL); the local
/// test server has TLS on, so check the connection really is encrypted.
#[tokio::test]
async fn postgres_connections_can_require_tls() {
    let schema = PgSchema::create().await;
    let url = format!("{}&sslmode=require", schema.url);
    let store = PgStore::open(&url).await.unwrap();
    store.ping().await.unwrap();
    let db = sqlx::PgPool::connect(&url).await.unwrap();
    let (ssl,): (bool,) =
        sqlx::query_as("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            .fetch_one(&db)
            .await
            .unwrap();
    assert!(ssl, "sslmode=require gave a plain connection");
}

fn issuer_state(org: &str, ok: bool, next_try_at: i64) -> IssuerState {
    IssuerState {
        org_id: org.into(),
        org_name: format!("Issuer {org}"),
        issuer_id: format!("in.gov.{org}"),
        ok: i64::from(ok),
        attempts: i64::from(!ok),
        failing_since: (!ok).then_some(NOW),
        last_ok_at: ok.then_some(NOW),
        last_error: (!ok).then(|| "doc types: 500 repository_service_unresponsive".into()),
        next_try_at,
    }
}

async fn issuer_states_are_upserted_and_forgotten(backend: Backend) {
    let db = Db::new(backend).await;
    let (a, b) = (db.open().await, db.open().await);
    assert!(a.catalogue_issuers().await.unwrap().is_empty());
    let first = vec![
        issuer_state("org1", true, NOW + 100),
        issuer_state("org2", false, NOW + 10),
        issuer_state("org3", true, NOW + 100),
    ];
    a.save_catalogue_issuers(&first, &[]).await.unwrap();
    assert_eq!(b.catalogue_issuers().await.unwrap(), first);
    // org2 recovers, org3 is no longer listed, org4 is new.
    let second = vec![
        issuer_state("org2", true, NOW + 200),
        issuer_state("org4", false, NOW + 20),
    ];
    b.save_catalogue_issuers(&second, &["org3".into()])
        .await
        .unwrap();
    assert_eq!(
        a.catalogue_issuers().await.unwrap(),
        vec![first[0].clone(), second[0].clone(), second[1].clone()]
    );
    // The current version says how complete it is.
    let meta = a
        .replace_catalogue(
            &[catalogue_row("org1", "PANCR")],
            NOW,
            CatalogueHealth {
                issuers: 3,
                failing: 1,
                pending: 1,
            },
        )
        .await
        .unwrap();
    let read = b.catalogue_meta().await.unwrap().unwrap();
    assert_eq!(read, meta);
    assert_eq!((read.issuers, read.failing, read.pending), (3, 1, 1));
    assert!(!read.complete());
}

async fn an_upstream_revoke_is_queued_with_the_erasure_and_claimed_once(backend: Backend) {
    let db = Db::new(backend).await;
    let (a, b) = (db.open().await, db.open().await);
    a.insert_client(&client("c1", 10)).await.unwrap();
    a.insert_request(&request("r1", "c1", NOW + 600))
        .await
        .unwrap();
    a.set_authenticated(
        "r1",
        b"token",
        b"details",
        b"scope",
        &event(EventKind::ConsentGiven),
    )
    .await
    .unwrap();
    let job = NewUpstreamRevoke {
        token_sealed: b"sealed token".to_vec(),
        expires_at: NOW + 3600,
        created_at: NOW,
    };
    assert!(a
        .revoke("r1", &event(EventKind::Revoked), Some(&job))
        .await
        .unwrap());
    let r = b.get_request("c1", "r1", NOW).await.unwrap().unwrap();
    assert!(r.token.is_none() && r.data_key.is_none(), "erased at once");
    assert_eq!(b.count_upstream_revokes().await.unwrap(), 1);
    // Claimed by one instance at a time, for the lease.
    let (x, y) = tokio::join!(
        a.claim_upstream_revokes(NOW, 60, 10, None),
        b.claim_upstream_revokes(NOW, 60, 10, None)
    );
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.len() + y.len(), 1, "claimed twice: {x:?} {y:?}");
    let claimed = x.into_iter().chain(y).next().unwrap();
    assert_eq!(
        (claimed.request_id.as_str(), claimed.client_id.as_str()),
        ("r1", "c1")
    );
    assert_eq!(claimed.token_sealed, b"sealed token");
    assert!(a
        .claim_upstream_revokes(NOW + 30, 60, 10, None)
        .await
        .unwrap()
        .is_empty());
    // A failed attempt: retried at its time, not before.
    a.finish_upstream_revoke(
        "r1",
        &UpstreamRevokeOutcome::Retry {
            error: "timeout".into(),
            next_attempt_at: NOW + 100,
        },
    )
    .await
    .unwrap();
    assert!(b
        .claim_upstream_revokes(NOW + 99, 60, 10, None)
        .await
        .unwrap()
        .is_empty());
    assert!(b
        .claim_upstream_revokes(NOW + 100, 60, 10, Some("other"))
        .await
        .unwrap()
        .is_empty());
    let again = b
        .claim_upstream_revokes(NOW + 100, 60, 10, Some("r1"))
        .await
        .unwrap();
    assert_eq!(again[0].attempts, 1);
    assert_eq!(again[0].last_error.as_deref(), Some("timeout"));
    // Done: the row goes, with its event in the trail.
    b.finish_upstream_revoke(
        "r1",
        &UpstreamRevokeOutcome::Done(NewEvent::new(
            EventKind::UpstreamRevoked,
            serde_json::json!({"outcome": "revoked", "attempts": 2}),
            NOW + 100,
        )),
    )
    .await
    .unwrap();
    assert_eq!(a.count_upstream_revokes().await.unwrap(), 0);
    let kinds: Vec<String> = a
        .request_events("r1")
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.kind)
        .collect();
    assert_eq!(
        kinds.last().map(String::as_str),
        Some("upstream_revoked"),
        "{kinds:?}"
    );
    // A request that was never authenticated queues nothing.
    a.insert_request(&request("r2", "c1", NOW + 600))
        .await
        .unwrap();
    assert!(!a
        .revoke("r2", &event(EventKind::Revoked), Some(&job))
        .await
        .unwrap());
    assert_eq!(a.count_upstream_revokes().await.unwrap(), 0);
}

/// The reason `vendor/sqlx-core` once existed: without `TCP_NODELAY` on
/// sqlx's TCP connections, a PostgreSQL message a little over one TCP
/// segment (64 KiB on loopback) sends its last piece only after
/// PostgreSQL's delayed ACK, 40 ms per statement (creates on PostgreSQL ran
/// at a tenth of their speed). Statements of 66 to 100 KB over TCP to
/// 127.0.0.1 must come back well under that: for each size the median of
/// 15 round trips is under 20 ms (with sqlx-core 0.9.0, Nagle's algorithm
/// on, it was 44 ms for each). Always on PostgreSQL, whatever the suite's
/// backend.
#[tokio::test]
async fn a_statement_over_one_tcp_segment_never_waits_for_a_delayed_ack() {
    let url = crate::harness::pg_base_url();
    assert!(
        url.contains("127.0.0.1") || url.contains("localhost"),
        "over TCP to this machine, not a Unix socket: {url}"
    );
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(&url)
        .await
        .unwrap();
    for size in [66_000, 70_000, 100 * 1024] {
        let payload = vec![7u8; size];
        // Warm the connection and the statement.
        sqlx::query("SELECT length($1)")
            .bind(&payload)
            .execute(&pool)
            .await
            .unwrap();
        let mut times = Vec::new();
        for _ in 0..15 {
            let started = std::time::Instant::now();
            let (n,): (i32,) = sqlx::query_as("SELECT length($1)")
                .bind(&payload)
                .fetch_one(&pool)
                .await
                .unwrap();
            times.push(started.elapsed());
            assert_eq!(n as usize, size);
        }
        times.sort();
        let median = times[times.len() / 2];
        assert!(
            median < std::time::Duration::from_millis(20),
            "a {size}-byte statement took {median:?} (median of {times:?}): TCP_NODELAY is off again"
        );
    }
    pool.close().await;
}

/// What the operator console reads: requests per step, events by the text
/// of their detail (`_` and `%` taken as they are), a request's deliveries,
/// the backlog per client.
async fn the_consoles_counts_look_ups_and_deliveries(backend: Backend) {
    let db = Db::new(backend).await;
    let s = db.open().await;
    s.insert_client(&client("cl_a", NOW)).await.unwrap();
    s.insert_client(&client("cl_b", NOW)).await.unwrap();
    let hook = WebhookSettings {
        url: Some("https://hooks.example/a".into()),
        secret: Some(b"sealed".to_vec()),
        ..Default::default()
    };
    assert!(s.set_client_webhook("cl_a", &hook).await.unwrap());
    for (id, client_id, trace) in [
        ("r1", "cl_a", "t_r1"),
        ("r2", "cl_a", "tXr1"),
        ("r3", "cl_b", ""),
    ] {
        let mut r = request(id, client_id, NOW + 600);
        r.trace_id = trace.into();
        assert!(s.insert_request(&r).await.unwrap());
    }
    s.set_authenticated(
        "r1",
        b"token",
        b"details",
        b"scope",
        &event(EventKind::ConsentGiven),
    )
    .await
    .unwrap();

    let mut counts = s.step_counts(NOW - 100).await.unwrap();
    counts.sort_by(|a, b| (&a.client_id, &a.step).cmp(&(&b.client_id, &b.step)));
    let count = |c: &str, step: &str, n| StepCount {
        client_id: c.into(),
        step: step.into(),
        requests: n,
    };
    assert_eq!(
        counts,
        vec![
            count("cl_a", "consent_given", 1),
            count("cl_a", "created", 2),
            count("cl_b", "created", 1)
        ]
    );
    assert!(s.step_counts(NOW + 1).await.unwrap().is_empty());

    let found = s
        .events_mentioning("\"traceId\":\"t_r1\"", 10)
        .await
        .unwrap();
    assert_eq!(
        found
            .iter()
            .map(|e| e.request_id.as_str())
            .collect::<Vec<_>>(),
        vec!["r1"],
        "`_` is no wildcard"
    );
    assert!(s.events_mentioning("t%r1", 10).await.unwrap().is_empty());

    let deliveries = s.request_deliveries("r1").await.unwrap();
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0].state, "pending");
    assert!(s.request_deliveries("r3").await.unwrap().is_empty());
    assert_eq!(
        s.pending_deliveries_by_client().await.unwrap(),
        vec![("cl_a".to_owned(), 1)]
    );
}
