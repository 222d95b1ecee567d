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

/// The distinct ids of a page, in first-seen order: what to look names up for once.
pub fn distinct(ids: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        if !out.contains(&id) {
            out.push(id);
        }
    }
    out
}

/// Said with an unknown name, since names just read answer misses.
fn recent() -> String {
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

/// Two catalogs that one vendor read fills: field names, and the names of one field's options
/// (Pipedrive's `dealFields` names custom fields and deal labels; HubSpot's properties name
/// custom properties and deal tags). Whichever is read first fills both.
#[derive(Debug, Default)]
pub struct CatalogPair {
    fields: FieldCatalog,
    options: FieldCatalog,
}

impl CatalogPair {
    /// The field names, as [`FieldCatalog::covering`]; `read` answers both maps.
    pub async fn field_names<F, Fut>(
        &self,
        cx: &CallContext,
        wanted: &[String],
        read: F,
    ) -> Result<Arc<FieldNames>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(FieldNames, FieldNames)>>,
    {
        self.covering(cx, wanted, read, false).await
    }

    /// The option names, as [`FieldCatalog::covering`]; `read` answers both maps.
    pub async fn option_names<F, Fut>(
        &self,
        cx: &CallContext,
        wanted: &[String],
        read: F,
    ) -> Result<Arc<FieldNames>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(FieldNames, FieldNames)>>,
    {
        self.covering(cx, wanted, read, true).await
    }

    async fn covering<F, Fut>(
        &self,
        cx: &CallContext,
        wanted: &[String],
        read: F,
        options: bool,
    ) -> Result<Arc<FieldNames>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(FieldNames, FieldNames)>>,
    {
        let (asked, other) = if options {
            (&self.options, &self.fields)
        } else {
            (&self.fields, &self.options)
        };
        asked
            .covering(cx, wanted, || async {
                let (fields, option_names) = read().await?;
                let (mine, theirs) = if options {
                    (option_names, fields)
                } else {
                    (fields, option_names)
                };
                other.store(cx, theirs);
                Ok(mine)
            })
            .await
    }
}

/// The ids of options given by name or by id, in order (tags written as names); an option
/// the vendor does not have is the client's error, raised before anything is written.
pub fn option_ids<'a>(
    names: &'a FieldNames,
    wanted: &'a [String],
    what: &str,
) -> Result<Vec<&'a str>> {
    wanted
        .iter()
        .map(|tag| {
            names
                .iter()
                .find(|(_, name)| *name == tag)
                .map(|(id, _)| id.as_str())
                .or_else(|| names.contains_key(tag).then_some(tag.as_str()))
                .ok_or_else(|| {
                    ConnectorError::new(
                        ErrorKind::Unsupported,
                        format!("{what} named {tag:?} does not exist.{}", recent()),
                    )
                })
        })
        .collect()
}

/// The unified custom fields of a write (`{id}` or `{name}`, and `value`) as
/// `(vendor field id, value)` pairs, in order. `names` answers the connection's names covering
/// the wanted ids and names (a [`FieldCatalog`] reads them again on a miss); an id or a name
/// the vendor does not know is the client's error, raised before anything is written. Ids may
/// be given as text or as numbers.
pub async fn resolve_fields<F, Fut>(
    fields: &[Value],
    vendor: &str,
    names: F,
) -> Result<Vec<(String, Value)>>
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: Future<Output = Result<Arc<FieldNames>>>,
{
    let id_of = |f: &Value| {
        f.get("id")
            .filter(|v| v.is_string() || v.is_number())
            .map(id_text)
    };
    let name_of = |f: &Value| f.get("name").and_then(Value::as_str).map(str::to_owned);
    let wanted: Vec<String> = fields
        .iter()
        .filter_map(|f| id_of(f).or_else(|| name_of(f)))
        .collect();
    let names = names(wanted).await?;
    fields
        .iter()
        .map(|f| {
            let id = field_id(&names, id_of(f).as_deref(), name_of(f).as_deref(), vendor)?;
            Ok((id, f.get("value").cloned().unwrap_or(Value::Null)))
        })
        .collect()
}

/// The id of a field given by id or by name; an unknown id or name is the client's error,
/// since a vendor would store a value under an id it does not have nowhere, or refuse it.
fn field_id(
    names: &FieldNames,
    id: Option<&str>,
    name: Option<&str>,
    vendor: &str,
) -> Result<String> {
    match (id, name) {
        (Some(id), _) if names.contains_key(id) => Ok(id.to_owned()),
        (Some(id), _) => Err(ConnectorError::new(
            ErrorKind::Unsupported,
            format!("{vendor} has no custom field with id {id:?}.{}", recent()),
        )),
        (None, Some(name)) => names
            .iter()
            .find(|(_, n)| *n == name)
            .map(|(id, _)| id.clone())
            .ok_or_else(|| {
                ConnectorError::new(
                    ErrorKind::Unsupported,
                    format!("{vendor} has no custom field named {name:?}.{}", recent()),
                )
            }),
        (None, None) => Err(ConnectorError::new(
            ErrorKind::Unsupported,
            "A custom field needs an id or a name.",
        )),
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
        let fields = [
            serde_json::json!({ "name": "Region", "value": "EMEA" }),
            serde_json::json!({ "id": 8, "value": 2 }),
        ];
        let names = |wanted: Vec<String>| {
            let (catalog, cx) = (&catalog, &cx);
            async move { catalog.covering(cx, &wanted, fetch).await }
        };
        let resolved = resolve_fields(&fields, "X", names).await.unwrap();
        assert_eq!(
            resolved,
            [
                ("8".to_owned(), serde_json::json!("EMEA")),
                ("8".to_owned(), serde_json::json!(2))
            ],
            "by name, and by an id given as a number"
        );
        let unknown = [serde_json::json!({ "name": "Nope", "value": 1 })];
        let err = resolve_fields(&unknown, "X", names).await.unwrap_err();
        assert!(err.message.contains("Nope"), "{}", err.message);
        let unknown = [serde_json::json!({ "id": 99, "name": "Region", "value": 1 })];
        let err = resolve_fields(&unknown, "X", names).await.unwrap_err();
        assert!(
            err.message
                .starts_with("X has no custom field with id \"99\"."),
            "an unknown id is refused even beside a known name: {}",
            err.message
        );

        let ids = [
            serde_json::json!(5),
            serde_json::json!("5"),
            serde_json::json!("6"),
        ];
        assert_eq!(distinct(ids.iter().map(id_text)), ["5", "6"]);

        let tags = FieldNames::from([("5".to_owned(), "Hot".to_owned())]);
        let wanted = ["Hot".to_owned(), "5".to_owned()];
        assert_eq!(option_ids(&tags, &wanted, "A label").unwrap(), ["5", "5"]);
        let cold = ["Cold".to_owned()];
        let err = option_ids(&tags, &cold, "A label").unwrap_err();
        assert!(
            err.message
                .starts_with("A label named \"Cold\" does not exist. If it was added"),
            "{}",
            err.message
        );
    }
}
