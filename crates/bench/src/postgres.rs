//! The PostgreSQL side of the PostgreSQL runs: a fresh schema per gateway,
//! dropped at the end even after an error or Ctrl-C, and the backend
//! processes serving that gateway, whose CPU time is counted.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::Context;

/// PostgreSQL schemas made by this run, dropped at the end even after an
/// error or Ctrl-C.
#[derive(Debug, Clone, Default)]
pub struct Schemas {
    pg_url: String,
    made: Arc<Mutex<Vec<String>>>,
}

impl Schemas {
    /// Schemas in the database at `pg_url`.
    pub fn new(pg_url: &str) -> Schemas {
        Schemas {
            pg_url: pg_url.to_owned(),
            made: Arc::default(),
        }
    }

    async fn admin(&self) -> anyhow::Result<sqlx::PgPool> {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(Duration::from_secs(5))
            .connect(&self.pg_url)
            .await
            .with_context(|| {
                format!(
                    "PostgreSQL is not reachable at {}: start it, pass --pg-url, or run with --backend sqlite",
                    self.pg_url
                )
            })?;
        Ok(pool)
    }

    /// Fail early when PostgreSQL is not there.
    pub async fn check(&self) -> anyhow::Result<()> {
        self.admin().await?.close().await;
        Ok(())
    }

    /// A fresh schema for one gateway, and a watch on its backends.
    pub async fn fresh(&self) -> anyhow::Result<Database> {
        let schema = format!("gwbench_{}", uuid::Uuid::new_v4().simple());
        let admin = self.admin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE SCHEMA {schema}")))
            .execute(&admin)
            .await?;
        admin.close().await;
        if let Ok(mut made) = self.made.lock() {
            made.push(schema.clone());
        }
        let sep = if self.pg_url.contains('?') { '&' } else { '?' };
        // The application name tells the gateway's backends apart in
        // pg_stat_activity, so their CPU time can be counted.
        let url = format!(
            "{}{sep}options=-csearch_path%3D{schema}&application_name={schema}",
            self.pg_url
        );
        Ok(Database {
            backends: Backends {
                pool: self.admin().await?,
                application_name: schema.clone(),
            },
            schema,
            url,
        })
    }

    /// Stop watching `database` and drop its schema.
    pub async fn release(&self, database: Database) -> anyhow::Result<()> {
        database.backends.pool.close().await;
        self.drop_one(&database.schema).await
    }

    async fn drop_one(&self, schema: &str) -> anyhow::Result<()> {
        let admin = self.admin().await?;
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "DROP SCHEMA IF EXISTS {schema} CASCADE"
        )))
        .execute(&admin)
        .await?;
        admin.close().await;
        if let Ok(mut made) = self.made.lock() {
            made.retain(|s| s != schema);
        }
        Ok(())
    }

    /// Drop every schema this run made and has not dropped yet.
    pub async fn drop_all(&self) {
        let left: Vec<String> = self.made.lock().map(|m| m.clone()).unwrap_or_default();
        for schema in left {
            if let Err(e) = self.drop_one(&schema).await {
                eprintln!("bench: could not drop schema {schema}: {e:#}");
            }
        }
    }
}

/// A schema made for one gateway.
#[derive(Debug)]
pub struct Database {
    pub schema: String,
    /// The gateway's `GATEWAY_DATABASE_URL`: the schema as its search path,
    /// and the schema's name as its application name.
    pub url: String,
    pub backends: Backends,
}

/// The PostgreSQL backend processes serving one gateway.
#[derive(Debug)]
pub struct Backends {
    pool: sqlx::PgPool,
    application_name: String,
}

impl Backends {
    /// Their pids right now (none if PostgreSQL is on another machine, in
    /// effect: their `/proc` entries will not be found).
    pub async fn pids(&self) -> Vec<u32> {
        sqlx::query_scalar::<_, i32>("SELECT pid FROM pg_stat_activity WHERE application_name = $1")
            .bind(&self.application_name)
            .fetch_all(&self.pool)
            .await
            .unwrap_or_default()
            .into_iter()
            .filter_map(|p| u32::try_from(p).ok())
            .collect()
    }
}
