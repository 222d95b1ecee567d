//! Names of a connection's custom fields, for vendors that key custom fields by opaque ids
//! (Pipedrive's 40-character hashes, Copper's definition ids) or that only send the fields
//! asked for by name (HubSpot). Kept per connection and read again from the vendor when an id
//! or a name is missing or the names are older than [`MAX_AGE`], so a field added at the vendor
//! shows up without a restart — even where no record can reveal it.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::time::Instant;

use crate::{CallContext, ConnectorError, ErrorKind, Result};

/// Field id → field name, for one connection.
pub type FieldNames = HashMap<String, String>;

/// How long a connection's names are trusted without a miss.
pub const MAX_AGE: Duration = Duration::from_secs(300);

/// How long a miss is answered from names just read: an id the vendor no longer names (a
/// deleted label still on old deals) must not cost a read on every request.
pub const MIN_AGE_TO_REREAD: Duration = Duration::from_secs(30);

/// An id as text, whether the vendor sent it as a string or as a number.
pub fn id_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Said with an unknown name, since names just read answer misses.
pub fn recently_added() -> String {
    format!(
        " If it was added at the vendor in the last {} seconds, try again shortly.",
        MIN_AGE_TO_REREAD.as_secs()
    )
}

/// Custom field names by connection, with when they were read.
#[derive(Debug, Default)]
pub struct FieldCatalog {
    by_connection: Mutex<HashMap<String, (Instant, Arc<FieldNames>)>>,
    /// The vendor's recent refusal to name (a token without the metadata scope), answered again
    /// for [`MIN_AGE_TO_REREAD`] rather than asked again on every request.
    refused: Mutex<HashMap<String, (Instant, ConnectorError)>>,
}

impl FieldCatalog {
    /// The connection's names, read again with `fetch` unless they are younger than
    /// [`MAX_AGE`] and every id or name in `wanted` is already known; names younger than
    /// [`MIN_AGE_TO_REREAD`] are answered even on a miss.
    pub async fn covering<F, Fut>(
        &self,
        cx: &CallContext,
        wanted: &[String],
        fetch: F,
    ) -> Result<Arc<FieldNames>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<FieldNames>>,
    {
        let cached = self
            .by_connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cx.connection)
            .cloned();
        if let Some((read_at, cached)) = cached {
            let age = read_at.elapsed();
            let covers = || {
                wanted
                    .iter()
                    .all(|w| cached.contains_key(w) || cached.values().any(|n| n == w))
            };
            if age < MIN_AGE_TO_REREAD || (age < MAX_AGE && covers()) {
                return Ok(cached);
            }
        }
        let refused = self
            .refused
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&cx.connection)
            .filter(|(at, _)| at.elapsed() < MIN_AGE_TO_REREAD)
            .map(|(_, err)| err.clone());
        if let Some(err) = refused {
            return Err(err);
        }
        match fetch().await {
            Ok(fresh) => Ok(self.store(cx, fresh)),
            Err(err) => {
                self.remember_refusal(cx, &err);
                Err(err)
            }
        }
    }

    /// Keeps the vendor's refusal to name (a 403) for the connection, for [`MIN_AGE_TO_REREAD`];
    /// for catalogs that another catalog's call answers too.
    pub fn remember_refusal(&self, cx: &CallContext, err: &ConnectorError) {
        if err.kind == ErrorKind::Unauthorized && err.vendor_status == Some(403) {
            self.refused
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .insert(cx.connection.clone(), (Instant::now(), err.clone()));
        }
    }

    /// Keeps names read for the connection, for vendors whose one call answers two catalogs.
    pub fn store(&self, cx: &CallContext, names: FieldNames) -> Arc<FieldNames> {
        let names = Arc::new(names);
        self.by_connection
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(cx.connection.clone(), (Instant::now(), names.clone()));
        names
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use url::Url;

    use super::*;
    use crate::OutboundClient;

    #[tokio::test(start_paused = true)]
    async fn names_are_read_once_and_again_on_a_miss_or_when_old() {
        let cx = CallContext {
            http: OutboundClient::for_tests(),
            base_url: Url::parse("http://127.0.0.1:9").unwrap(),
            settings: Arc::default(),
            lookups: Arc::default(),
            connection: "c1".into(),
            degraded: Default::default(),
        };
        let catalog = FieldCatalog::default();
        let reads = AtomicU32::new(0);
        let fetch = || async {
            reads.fetch_add(1, Ordering::SeqCst);
            Ok(FieldNames::from([("8".to_owned(), "Region".to_owned())]))
        };
        let names = catalog.covering(&cx, &["8".into()], fetch).await.unwrap();
        assert_eq!(names["8"], "Region");
        catalog
            .covering(&cx, &["Region".into()], fetch)
            .await
            .unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 1, "cached by id and by name");
        catalog
            .covering(&cx, &["Seats".into()], fetch)
            .await
            .unwrap();
        assert_eq!(
            reads.load(Ordering::SeqCst),
            1,
            "names just read answer a miss too"
        );
        tokio::time::advance(MIN_AGE_TO_REREAD).await;
        catalog
            .covering(&cx, &["Seats".into()], fetch)
            .await
            .unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 2, "a miss reads again");
        tokio::time::advance(MAX_AGE).await;
        catalog.covering(&cx, &[], fetch).await.unwrap();
        assert_eq!(
            reads.load(Ordering::SeqCst),
            3,
            "old names are read again even without a miss"
        );
        catalog.covering(&cx, &[], fetch).await.unwrap();
        assert_eq!(reads.load(Ordering::SeqCst), 3);
    }
}
