//! The rate limits' counts, shared by every hub process on the database.

use std::sync::LazyLock;

use crate::store::{Hits, Result, SharedLimits};

use super::PgStore;

/// The database's current minute (since the Unix epoch), by its clock.
const MINUTE: &str = "(floor(extract(epoch FROM now()) / 60))::BIGINT";
/// The seconds left in it (1 to 60).
const SECONDS_LEFT: &str = "(60 - floor(extract(epoch FROM now()))::BIGINT % 60)::BIGINT";

fn hits_of(row: &tokio_postgres::Row) -> Hits {
    Hits {
        hits: u32::try_from(row.get::<_, i32>(0)).unwrap_or(u32::MAX),
        seconds_left: u64::try_from(row.get::<_, i64>(1)).unwrap_or(60),
    }
}

#[async_trait::async_trait]
impl SharedLimits for PgStore {
    async fn hit(&self, key: &str) -> Result<Hits> {
        // Every upload counts one: written once, prepared once per
        // connection.
        static HIT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO limit_hits (key, minute, hits) VALUES ($1, {MINUTE}, 1)
                 ON CONFLICT (key, minute) DO UPDATE SET hits = limit_hits.hits + 1
                 RETURNING hits, {SECONDS_LEFT}"
            )
        });
        let client = self.client().await?;
        let statement = client.prepare_cached(&HIT).await?;
        Ok(hits_of(&client.query_one(&statement, &[&key]).await?))
    }

    async fn hits(&self, key: &str) -> Result<Hits> {
        static HITS: LazyLock<String> = LazyLock::new(|| {
            format!(
                "SELECT coalesce((SELECT hits FROM limit_hits WHERE key = $1 AND minute = {MINUTE}), 0),
                        {SECONDS_LEFT}"
            )
        });
        let client = self.client().await?;
        let statement = client.prepare_cached(&HITS).await?;
        Ok(hits_of(&client.query_one(&statement, &[&key]).await?))
    }

    async fn forget_old_hits(&self) -> Result<()> {
        self.client()
            .await?
            .execute(
                &format!("DELETE FROM limit_hits WHERE minute < {MINUTE}"),
                &[],
            )
            .await?;
        Ok(())
    }
}
