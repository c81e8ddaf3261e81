//! Databases for the service record tests: a SQLite file in a fresh temp
//! directory, and PostgreSQL (127.0.0.1:5432, db `test`) with a table of
//! its own, so parallel test runs never collide.

use std::path::PathBuf;

use fjord_servicegroup::{ServiceRecords, ServiceRecordsBuilder};

use super::{postgres_url, unique};

pub struct TestDb {
    pub backend: &'static str,
    pub url: String,
    pub table: String,
    dir: Option<PathBuf>,
}

impl Drop for TestDb {
    /// Removes the SQLite file's temp directory.
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique("fjord_sg"));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite:///{}", dir.join("records.sqlite").display());
        TestDb {
            backend: "sqlite",
            url,
            table: "services".into(),
            dir: Some(dir),
        }
    }

    /// PostgreSQL, or `None` after printing `SKIPPED` (panics under
    /// `FJORD_REQUIRE_SERVICES=1`).
    pub async fn postgres(test: &str) -> Option<TestDb> {
        if !fjord_test_support::skip::postgres(test) {
            return None;
        }
        let url = postgres_url();
        if let Err(e) = sqlx::PgPool::connect(&url).await {
            fjord_test_support::need(false, test, &format!("cannot connect to {url}: {e}"));
            return None;
        }
        // short: PostgreSQL truncates identifiers past 63 bytes
        let table = format!(
            "fjt_{}_{}",
            std::process::id(),
            unique("t")
                .rsplit('_')
                .take(2)
                .collect::<Vec<_>>()
                .join("_")
        );
        Some(TestDb {
            backend: "postgresql",
            url,
            table,
            dir: None,
        })
    }

    /// SQLite always, PostgreSQL when reachable.
    pub async fn all(test: &str) -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite()];
        v.extend(TestDb::postgres(test).await);
        v
    }

    pub fn builder(&self) -> ServiceRecordsBuilder {
        ServiceRecords::builder(self.url.clone()).table(self.table.clone())
    }

    pub async fn connect(&self) -> ServiceRecords {
        self.builder()
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{}: {e}", self.backend))
    }

    /// Runs a raw statement against the test database.
    pub async fn execute(&self, sql: &str) {
        if self.backend == "postgresql" {
            let pool = sqlx::PgPool::connect(&self.url).await.expect("pg");
            sqlx::query(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        } else {
            let path = self.url.trim_start_matches("sqlite:///");
            let opts = sqlx::sqlite::SqliteConnectOptions::new().filename(path);
            let pool = sqlx::SqlitePool::connect_with(opts).await.expect("sqlite");
            sqlx::query(sql).execute(&pool).await.expect(sql);
            pool.close().await;
        }
    }

    pub async fn cleanup(self) {
        if self.backend == "postgresql" {
            self.execute(&format!("DROP TABLE IF EXISTS {}", self.table))
                .await;
        }
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}
