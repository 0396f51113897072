//! The one [`Store`]: [`SqlStore`], a read pool and the writer over either
//! database, generic over its [`Dialect`] (what differs between SQLite and
//! PostgreSQL). Each method is its aggregate's (clients.rs, requests.rs, …);
//! this file holds the seam and the impl that joins them. Placeholders are
//! `$1`, `$2`… which SQLite and PostgreSQL both accept.
//!
//! Binding and reading go through [`Portable`] (`.arg(v)`, `.push_arg(v)`,
//! [`Columns::col`]) rather than sqlx's `bind`/`try_get`: sqlx's bounds for
//! those are on each value type (`i64: Encode<DB>`…), which Rust would make
//! every generic impl repeat, while `Portable`'s are implied by
//! `D: Dialect`. Only the executor bound stays on each aggregate's impl.

use async_trait::async_trait;
use futures::future::BoxFuture;
use sqlx::query::{Query, QueryAs};
use sqlx::query_builder::Separated;
use sqlx::{
    Database, Decode, Encode, Executor, IntoArguments, Postgres, QueryBuilder, Row, Sqlite, Type,
};

use super::read_pool::ReadPool;
use super::writer::Writer;
use super::{
    AttemptOutcome, CatalogueHealth, CatalogueMeta, CatalogueRow, ClientRecord, DeliveryRecord,
    DueDelivery, EventRecord, FileRecord, IssuerState, KeyUse, LiveFile, NewEvent, NewRequest,
    NewUpstreamRevoke, RequestRecord, RequestStatusRecord, SealedValue, StepCount, Store,
    StoreResult, SweepStep, UpstreamRevoke, UpstreamRevokeOutcome, WebhookBacklog, WebhookSettings,
};

/// What differs between the databases: their sqlx types, and (in the
/// `Dialect` impls of sqlite.rs and postgres.rs) the statements and
/// behaviours that are not the same on both.
pub trait Dialect: Clone + std::fmt::Debug + Send + Sync + 'static {
    type Db: Portable<Connection = Self::Conn>;
    type Conn: sqlx::Connection<Database = Self::Db> + std::fmt::Debug + 'static;

    /// What a claim's subquery adds so two instances skip each other's rows.
    const SKIP_LOCKED: &'static str;
    /// Events from a JSON array of `[id, request_id, client_id, kind,
    /// detail, at]` in `$1`, in its order.
    const INSERT_EVENTS: &'static str;
    /// The deliveries of the events whose ids are in the JSON array `$1`,
    /// for clients with a webhook.
    fn insert_deliveries() -> &'static str;
    /// Both, as one query where the database takes several statements in
    /// one: the events from `$1`, then the deliveries of those in `$2`.
    fn insert_events_and_deliveries() -> Option<&'static str>;
    /// Delete up to `$2` file links expired at `$1`.
    const SWEEP_LINKS: &'static str;
    /// Claim up to `$3` deliveries due at `$1` until `$2`: clients in turn
    /// (every client's first, then every client's second, …), at most `$4`
    /// a client less its count in the JSON object `$5` (already in flight).
    const CLAIM_DELIVERIES: &'static str;

    /// The backend's name, for logs and `/readyz`.
    const NAME: &'static str;
    /// As [`super::Store::erases_through_writer`].
    const ERASES_THROUGH_WRITER: bool;

    /// Run an erasure step `f` in a transaction of its own: through the
    /// writer or beside it (see each backend).
    fn erase<T, F>(
        store: &SqlStore<Self>,
        f: F,
    ) -> impl std::future::Future<Output = StoreResult<T>> + Send
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut Self::Conn) -> BoxFuture<'c, Result<T, sqlx::Error>>
            + Send
            + 'static;

    /// As [`super::Store::compact`].
    fn compact(store: &SqlStore<Self>)
        -> impl std::future::Future<Output = StoreResult<()>> + Send;

    /// As [`super::Store::rewrite_erased`].
    fn rewrite_erased(
        store: &SqlStore<Self>,
        now: i64,
        every: i64,
    ) -> impl std::future::Future<Output = StoreResult<Vec<String>>> + Send;

    /// Delete up to `limit` requests expired at `now` (their files
    /// cascade); their (id, client_id).
    fn sweep_requests(
        conn: &mut Self::Conn,
        now: i64,
        limit: i64,
    ) -> impl std::future::Future<Output = Result<Vec<(String, String)>, sqlx::Error>> + Send;
}

/// What a statement's result says in both databases (sqlx has the method
/// on each result type, but no trait for it).
pub trait RowsAffected {
    fn rows_affected(&self) -> u64;
}

/// A store on one database: reads through a pool, every write through the
/// one writer (group commit). `dialect` holds what the backend needs of its
/// own.
#[derive(Clone, Debug)]
pub struct SqlStore<D: Dialect> {
    pub(super) read: ReadPool<D::Conn>,
    pub(super) writer: Writer<D::Conn>,
    pub(super) dialect: D,
}

/// A value both databases bind (`i64`, `&str`, `Option<Vec<u8>>`…).
pub trait Arg<'t>:
    Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres>
{
}

impl<'t, T> Arg<'t> for T where
    T: Encode<'t, Sqlite> + Type<Sqlite> + Encode<'t, Postgres> + Type<Postgres>
{
}

/// A column type both databases read (`i64`, `String`, `Option<Vec<u8>>`…).
pub trait Col:
    for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

impl<T> Col for T where
    T: for<'r> Decode<'r, Sqlite> + Type<Sqlite> + for<'r> Decode<'r, Postgres> + Type<Postgres>
{
}

/// A database of ours, as the shared statements use it: it binds any
/// [`Arg`], reads any [`Col`] of its rows, and says how many rows a
/// statement changed. (sqlx's own bounds for these would have to be
/// repeated on every generic impl; these are implied by `D: Dialect`.)
pub trait Portable:
    Database<Row: Columns, QueryResult: RowsAffected, Arguments: IntoArguments<Self>>
{
    fn bind<'q, T: Arg<'q> + 'q>(
        q: Query<'q, Self, Self::Arguments>,
        v: T,
    ) -> Query<'q, Self, Self::Arguments>;
    fn bind_as<'q, O, T: Arg<'q> + 'q>(
        q: QueryAs<'q, Self, O, Self::Arguments>,
        v: T,
    ) -> QueryAs<'q, Self, O, Self::Arguments>;
    fn push<'t, T: Arg<'t>>(b: &mut QueryBuilder<Self>, v: T);
    fn push_separated<'t, T: Arg<'t>, Sep: std::fmt::Display>(
        b: &mut Separated<'_, Self, Sep>,
        v: T,
    );
}

/// A row's columns by name or position, of any [`Col`] type.
pub trait Columns: Row {
    fn col<T: Col>(&self, name: &str) -> Result<T, sqlx::Error>;
    fn col_at<T: Col>(&self, index: usize) -> Result<T, sqlx::Error>;
}

/// `.arg(v)`: [`sqlx::query::Query::bind`] for a [`Portable`] database.
pub trait Bind<'q>: Sized {
    fn arg<T: Arg<'q> + 'q>(self, v: T) -> Self;
}

impl<'q, DB: Portable> Bind<'q> for Query<'q, DB, DB::Arguments> {
    fn arg<T: Arg<'q> + 'q>(self, v: T) -> Self {
        DB::bind(self, v)
    }
}

impl<'q, DB: Portable, O> Bind<'q> for QueryAs<'q, DB, O, DB::Arguments> {
    fn arg<T: Arg<'q> + 'q>(self, v: T) -> Self {
        DB::bind_as(self, v)
    }
}

/// `.push_arg(v)`: `push_bind` for a [`Portable`] database's builders.
pub trait Push {
    fn push_arg<'t, T: Arg<'t>>(&mut self, v: T) -> &mut Self;
}

impl<DB: Portable> Push for QueryBuilder<DB> {
    fn push_arg<'t, T: Arg<'t>>(&mut self, v: T) -> &mut Self {
        DB::push(self, v);
        self
    }
}

impl<DB: Portable, Sep: std::fmt::Display> Push for Separated<'_, DB, Sep> {
    fn push_arg<'t, T: Arg<'t>>(&mut self, v: T) -> &mut Self {
        DB::push_separated(self, v);
        self
    }
}

/// The one `Store`: each method is its aggregate's (clients.rs,
/// requests.rs, …), or the dialect's where the databases differ.
#[async_trait]
impl<D: Dialect> Store for SqlStore<D>
where
    for<'c> &'c mut D::Conn: Executor<'c, Database = D::Db>,
{
    fn backend(&self) -> &'static str {
        D::NAME
    }

    fn erases_through_writer(&self) -> bool {
        D::ERASES_THROUGH_WRITER
    }

    fn api_busy(&self) -> bool {
        self.writer.api_busy()
    }

    async fn ping(&self) -> StoreResult<()> {
        let mut db = self.read.get().await?;
        let done = sqlx::query("SELECT 1").execute(db.conn()).await;
        db.check(done)?;
        Ok(())
    }

    async fn insert_client(&self, client: &ClientRecord) -> StoreResult<()> {
        SqlStore::insert_client(self, client).await
    }

    async fn get_client(&self, client_id: &str) -> StoreResult<Option<ClientRecord>> {
        SqlStore::get_client(self, client_id).await
    }

    async fn list_clients(&self) -> StoreResult<Vec<ClientRecord>> {
        SqlStore::list_clients(self).await
    }

    async fn client_generation(&self) -> StoreResult<i64> {
        SqlStore::client_generation(self).await
    }

    async fn set_client_disabled(
        &self,
        client_id: &str,
        disabled: bool,
        now: i64,
    ) -> StoreResult<bool> {
        SqlStore::set_client_disabled(self, client_id, disabled, now).await
    }

    async fn set_client_secret_hash(&self, client_id: &str, hash: &[u8]) -> StoreResult<bool> {
        SqlStore::set_client_secret_hash(self, client_id, hash).await
    }

    async fn set_client_webhook(
        &self,
        client_id: &str,
        webhook: &WebhookSettings,
    ) -> StoreResult<bool> {
        SqlStore::set_client_webhook(self, client_id, webhook).await
    }

    async fn insert_request(&self, request: &NewRequest) -> StoreResult<bool> {
        SqlStore::insert_request(self, request).await
    }

    async fn release_expired_idempotency_key(
        &self,
        client_id: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<()> {
        SqlStore::release_expired_idempotency_key(self, client_id, key, now).await
    }

    async fn get_request(
        &self,
        client_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>> {
        SqlStore::get_request(self, client_id, id, now).await
    }

    async fn get_request_status(
        &self,
        client_id: &str,
        id: &str,
        now: i64,
    ) -> StoreResult<Option<RequestStatusRecord>> {
        SqlStore::get_request_status(self, client_id, id, now).await
    }

    async fn get_live_request(&self, id: &str, now: i64) -> StoreResult<Option<RequestRecord>> {
        SqlStore::get_live_request(self, id, now).await
    }

    async fn find_idempotent(
        &self,
        client_id: &str,
        key: &str,
        now: i64,
    ) -> StoreResult<Option<RequestRecord>> {
        SqlStore::find_idempotent(self, client_id, key, now).await
    }

    async fn claim_callback(
        &self,
        state_key: &[u8],
        now: i64,
    ) -> StoreResult<Option<RequestRecord>> {
        SqlStore::claim_callback(self, state_key, now).await
    }

    async fn record_event(
        &self,
        request_id: &str,
        client_id: &str,
        event: &NewEvent,
    ) -> StoreResult<()> {
        SqlStore::record_event(self, request_id, client_id, event).await
    }

    async fn set_authenticated(
        &self,
        id: &str,
        token: &[u8],
        user_details: &[u8],
        scope_sealed: &[u8],
        event: &NewEvent,
    ) -> StoreResult<()> {
        SqlStore::set_authenticated(self, id, token, user_details, scope_sealed, event).await
    }

    async fn set_consent_failed(
        &self,
        id: &str,
        code: &str,
        message: &str,
        event: &NewEvent,
    ) -> StoreResult<()> {
        SqlStore::set_consent_failed(self, id, code, message, event).await
    }

    async fn update_token(&self, id: &str, token: &[u8]) -> StoreResult<()> {
        SqlStore::update_token(self, id, token).await
    }

    async fn revoke(
        &self,
        id: &str,
        event: &NewEvent,
        upstream: Option<&NewUpstreamRevoke>,
    ) -> StoreResult<bool> {
        SqlStore::revoke(self, id, event, upstream).await
    }

    async fn claim_upstream_revokes(
        &self,
        now: i64,
        lease: i64,
        limit: i64,
        request_id: Option<&str>,
    ) -> StoreResult<Vec<UpstreamRevoke>> {
        SqlStore::claim_upstream_revokes(self, now, lease, limit, request_id).await
    }

    async fn finish_upstream_revoke(
        &self,
        request_id: &str,
        outcome: &UpstreamRevokeOutcome,
    ) -> StoreResult<()> {
        SqlStore::finish_upstream_revoke(self, request_id, outcome).await
    }

    async fn list_upstream_revokes(&self, limit: i64) -> StoreResult<Vec<UpstreamRevoke>> {
        SqlStore::list_upstream_revokes(self, limit).await
    }

    async fn count_upstream_revokes(&self) -> StoreResult<i64> {
        SqlStore::count_upstream_revokes(self).await
    }

    async fn webhook_backlog(&self) -> StoreResult<WebhookBacklog> {
        SqlStore::webhook_backlog(self).await
    }

    async fn insert_file(&self, file: &FileRecord, event: &NewEvent) -> StoreResult<()> {
        SqlStore::insert_file(self, file, event).await
    }

    async fn get_file(&self, token_hash: &[u8], now: i64) -> StoreResult<Option<LiveFile>> {
        SqlStore::get_file(self, token_hash, now).await
    }

    async fn sweep_step(&self, now: i64, limit: i64) -> StoreResult<SweepStep> {
        SqlStore::sweep_step(self, now, limit).await
    }

    async fn sweep_links(&self, now: i64, limit: i64) -> StoreResult<u64> {
        SqlStore::sweep_links(self, now, limit).await
    }

    async fn purge_events(&self, before: i64, limit: i64) -> StoreResult<u64> {
        SqlStore::purge_events(self, before, limit).await
    }

    async fn compact(&self) -> StoreResult<()> {
        D::compact(self).await
    }

    async fn rewrite_erased(&self, now: i64, every: i64) -> StoreResult<Vec<String>> {
        D::rewrite_erased(self, now, every).await
    }

    async fn erasure_count(&self, request_id: &str) -> StoreResult<i64> {
        SqlStore::erasure_count(self, request_id).await
    }

    async fn request_events(&self, request_id: &str) -> StoreResult<Vec<EventRecord>> {
        SqlStore::request_events(self, request_id).await
    }

    async fn client_events(
        &self,
        client_id: &str,
        since: i64,
        after_seq: i64,
        limit: i64,
    ) -> StoreResult<Vec<EventRecord>> {
        SqlStore::client_events(self, client_id, since, after_seq, limit).await
    }

    async fn claim_deliveries(
        &self,
        now: i64,
        lease: i64,
        limit: i64,
        per_client: i64,
        in_flight: &std::collections::HashMap<String, i64>,
    ) -> StoreResult<Vec<DueDelivery>> {
        SqlStore::claim_deliveries(self, now, lease, limit, per_client, in_flight).await
    }

    async fn finish_delivery(
        &self,
        event_id: &str,
        outcome: &AttemptOutcome,
        now: i64,
    ) -> StoreResult<()> {
        SqlStore::finish_delivery(self, event_id, outcome, now).await
    }

    async fn list_deliveries(
        &self,
        client_id: &str,
        limit: i64,
    ) -> StoreResult<Vec<DeliveryRecord>> {
        SqlStore::list_deliveries(self, client_id, limit).await
    }

    async fn redeliver(&self, event_id: &str, now: i64) -> StoreResult<bool> {
        SqlStore::redeliver(self, event_id, now).await
    }

    async fn get_event(&self, event_id: &str) -> StoreResult<Option<EventRecord>> {
        SqlStore::get_event(self, event_id).await
    }

    async fn catalogue_meta(&self) -> StoreResult<Option<CatalogueMeta>> {
        SqlStore::catalogue_meta(self).await
    }

    async fn replace_catalogue(
        &self,
        rows: &[CatalogueRow],
        built_at: i64,
        health: CatalogueHealth,
    ) -> StoreResult<CatalogueMeta> {
        SqlStore::replace_catalogue(self, rows, built_at, health).await
    }

    async fn catalogue_issuers(&self) -> StoreResult<Vec<IssuerState>> {
        SqlStore::catalogue_issuers(self).await
    }

    async fn save_catalogue_issuers(
        &self,
        states: &[IssuerState],
        removed: &[String],
    ) -> StoreResult<()> {
        SqlStore::save_catalogue_issuers(self, states, removed).await
    }

    async fn load_catalogue(&self) -> StoreResult<Vec<CatalogueRow>> {
        SqlStore::load_catalogue(self).await
    }

    async fn find_catalogue_entry(
        &self,
        org_id: &str,
        doc_type: &str,
    ) -> StoreResult<Option<CatalogueRow>> {
        SqlStore::find_catalogue_entry(self, org_id, doc_type).await
    }

    async fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: i64,
        expires_at: i64,
    ) -> StoreResult<bool> {
        SqlStore::try_lease(self, name, holder, now, expires_at).await
    }

    async fn release_lease(&self, name: &str, holder: &str) -> StoreResult<()> {
        SqlStore::release_lease(self, name, holder).await
    }

    async fn claim_mode(&self, mode: &str, now: i64) -> StoreResult<(String, i64)> {
        SqlStore::claim_mode(self, mode, now).await
    }

    async fn key_usage(&self, now: i64) -> StoreResult<Vec<KeyUse>> {
        SqlStore::key_usage(self, now).await
    }

    async fn sealed_under_other_keys(&self, current: &[u8]) -> StoreResult<Vec<SealedValue>> {
        SqlStore::sealed_under_other_keys(self, current).await
    }

    async fn replace_sealed(&self, value: &SealedValue, resealed: &[u8]) -> StoreResult<bool> {
        SqlStore::replace_sealed(self, value, resealed).await
    }

    async fn count_client_live_requests(&self, client_id: &str) -> StoreResult<i64> {
        SqlStore::count_client_live_requests(self, client_id).await
    }

    async fn step_counts(&self, since: i64) -> StoreResult<Vec<StepCount>> {
        SqlStore::step_counts(self, since).await
    }

    async fn events_mentioning(&self, text: &str, limit: i64) -> StoreResult<Vec<EventRecord>> {
        SqlStore::events_mentioning(self, text, limit).await
    }

    async fn request_deliveries(&self, request_id: &str) -> StoreResult<Vec<DeliveryRecord>> {
        SqlStore::request_deliveries(self, request_id).await
    }

    async fn pending_deliveries_by_client(&self) -> StoreResult<Vec<(String, i64)>> {
        SqlStore::pending_deliveries_by_client(self).await
    }
}
