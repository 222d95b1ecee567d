//! Apideck's Unified CRM resources, and the query parameters they share. Every resource of
//! [`MODELS`] is served by the same handlers (`records.rs`), with routes and documentation
//! built from its model.

pub(crate) mod records;

use axum::extract::{FromRequest, Path, RawQuery, Request, State};
use axum::http::{HeaderMap, StatusCode, Uri, header};
use axum::routing::get;
use bytes::Bytes;
use crmgate_connector_sdk::{Operation, SortDirection};
use utoipa_axum::router::UtoipaMethodRouter;

use crate::api::tenant::Connection;
use crate::api::{AppState, RequestDeadline, openapi};
use crate::error::{Error, ErrorType, Result};
use crate::unified::{MODELS, ResourceModel};

/// The routes of every unified resource, each with its documentation: both are built from the
/// resource's model, so neither can list a route or a field the other lacks.
pub fn routes() -> impl Iterator<Item = UtoipaMethodRouter<AppState>> {
    MODELS.iter().copied().flat_map(resource_routes)
}

/// `/crm/<resource>` (list, create) and `/crm/<resource>/{id}` (one, update, delete).
fn resource_routes(model: &'static ResourceModel) -> [UtoipaMethodRouter<AppState>; 2] {
    let (collection_doc, item_doc) = openapi::resource_paths(model);
    let collection = get(
        move |state: State<AppState>,
              conn: Connection,
              uri: Uri,
              headers: HeaderMap,
              query: RawQuery| { records::list(model, state, conn, uri, headers, query) },
    )
    .post(
        move |state: State<AppState>,
              conn: Connection,
              headers: HeaderMap,
              query: RawQuery,
              body: Body| { records::create(model, state, conn, headers, query, body) },
    );
    let item = get(
        move |state: State<AppState>, conn: Connection, id: Path<String>, query: RawQuery| {
            records::one(model, state, conn, id, query)
        },
    )
    .patch(
        move |state: State<AppState>,
              conn: Connection,
              id: Path<String>,
              query: RawQuery,
              body: Body| { records::update(model, state, conn, id, query, body) },
    )
    .delete(move |conn: Connection, id: Path<String>, query: RawQuery| {
        records::delete(model, conn, id, query)
    });
    [
        (openapi::resource_schemas(model), collection_doc, collection),
        (Vec::new(), item_doc, item),
    ]
}

/// Apideck's id of an operation on a resource (`opportunitiesAll`, `opportunitiesAdd`, ...):
/// the OpenAPI document's, and what a write's `pass_through[].operation_id` selects.
pub fn operation_id(model: &ResourceModel, op: Operation) -> String {
    let verb = match op {
        Operation::List => "All",
        Operation::Get => "One",
        Operation::Create => "Add",
        Operation::Update => "Update",
        Operation::Delete => "Delete",
    };
    format!("{}{verb}", model.resource.as_str())
}

/// Query parameters of CRM calls, parsed strictly: an unknown or repeated parameter is a 400
/// rather than something silently ignored.
#[derive(Debug, Default)]
pub struct CrmQuery {
    pub raw: bool,
    pub limit: Option<u32>,
    pub cursor: Option<String>,
    pub fields: Option<Vec<String>>,
    /// `pass_through[k]=v`, forwarded to the vendor as `k=v`.
    pub pass_through: Vec<(String, String)>,
    /// `filter[k]=v`, in the order given.
    pub filters: Vec<(String, String)>,
    /// `sort[by]` and `sort[direction]` (ascending unless `desc`).
    pub sort: Option<(String, SortDirection)>,
}

/// Which parameters an operation takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryShape {
    List,
    One,
    Write,
}

pub const DEFAULT_LIMIT: u32 = 20;
pub const MAX_LIMIT: u32 = 200;

impl CrmQuery {
    pub fn parse(query: Option<&str>, shape: QueryShape, model: &ResourceModel) -> Result<Self> {
        let mut out = CrmQuery::default();
        let mut seen: Vec<String> = Vec::new();
        let mut sort_by = None;
        let mut direction = None;
        for (key, value) in form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
            let bracketed = key.find('[').map(|i| &key[..i]);
            if bracketed.is_none() {
                if seen.iter().any(|k| *k == key) {
                    return Err(param_error(&key, "is given more than once"));
                }
                seen.push(key.to_string());
            }
            match (shape, bracketed.unwrap_or(&key)) {
                (_, "raw") => {
                    out.raw = match &*value {
                        "true" => true,
                        "false" => false,
                        _ => return Err(param_error("raw", "must be true or false")),
                    }
                }
                (QueryShape::List, "limit") => {
                    let limit = value
                        .parse::<u32>()
                        .ok()
                        .filter(|l| (1..=MAX_LIMIT).contains(l))
                        .ok_or_else(|| {
                            param_error(
                                "limit",
                                &format!("must be an integer from 1 to {MAX_LIMIT}, got {value:?}"),
                            )
                        })?;
                    out.limit = Some(limit);
                }
                (QueryShape::List, "cursor") => {
                    out.cursor = Some(value.into_owned()).filter(|c| !c.is_empty());
                }
                (QueryShape::List | QueryShape::One, "fields") => {
                    out.fields = Some(parse_fields(&value, model)?);
                }
                (QueryShape::List, "filter") => {
                    let name = bracketed_name(&key, "filter")?;
                    if out.filters.iter().any(|(k, _)| k == name) {
                        return Err(param_error(&key, "is given more than once"));
                    }
                    out.filters.push((name.to_owned(), value.into_owned()));
                }
                (QueryShape::List, "sort") => match bracketed_name(&key, "sort")? {
                    "by" => sort_by = Some(value.into_owned()),
                    "direction" => {
                        direction = Some(match &*value {
                            "asc" => SortDirection::Ascending,
                            "desc" => SortDirection::Descending,
                            _ => return Err(param_error(&key, "must be asc or desc")),
                        })
                    }
                    _ => return Err(param_error(&key, "is not sort[by] or sort[direction]")),
                },
                (QueryShape::List, "pass_through") => {
                    let name = bracketed_name(&key, "pass_through")?;
                    out.pass_through.push((name.to_owned(), value.into_owned()));
                }
                _ => return Err(param_error(&key, "is not a parameter of this operation")),
            }
        }
        // A direction alone would sort nothing; refused rather than ignored.
        if sort_by.is_none() && direction.is_some() {
            return Err(param_error("sort[direction]", "needs sort[by]"));
        }
        out.sort = sort_by.map(|by| (by, direction.unwrap_or(SortDirection::Ascending)));
        Ok(out)
    }

    /// Refuses `pass_through[k]` for the parameters the connector pages with, naming every one
    /// the client set.
    pub fn check_paging_params(&self, paging: &[&str]) -> Result<()> {
        let mut set: Vec<&str> = Vec::new();
        for (key, _) in &self.pass_through {
            if paging.contains(&key.as_str()) && !set.contains(&key.as_str()) {
                set.push(key);
            }
        }
        if set.is_empty() {
            return Ok(());
        }
        let invalid: Vec<serde_json::Value> = set
            .iter()
            .map(|k| {
                serde_json::json!({ format!("pass_through[{k}]"): "is a paging parameter the connector sets; use limit and cursor" })
            })
            .collect();
        Err(Error::validation(
            format!(
                "Invalid query parameter pass_through: {} page the list and are set by the connector; use limit and cursor instead",
                set.iter()
                    .map(|k| format!("pass_through[{k}]"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            serde_json::json!({ "invalid": invalid }),
        ))
    }

    /// The list parameters a cursor must be used with: a cursor continues exactly the list it
    /// came from, of the same resource.
    pub fn list_fingerprint(&self, model: &ResourceModel) -> String {
        let sort = self
            .sort
            .as_ref()
            .map(|(by, d)| (by, *d == SortDirection::Descending));
        serde_json::to_string(&(
            model.resource.as_str(),
            &self.filters,
            sort,
            &self.pass_through,
        ))
        .expect("plain data serialises")
    }
}

/// `name` from `prefix[name]`, where the name is not empty and holds no brackets.
fn bracketed_name<'a>(key: &'a str, prefix: &str) -> Result<&'a str> {
    key.strip_prefix(prefix)
        .and_then(|k| k.strip_prefix('['))
        .and_then(|k| k.strip_suffix(']'))
        .filter(|k| !k.is_empty() && !k.contains(['[', ']']))
        .ok_or_else(|| param_error(key, &format!("must be {prefix}[name]=value")))
}

fn parse_fields(value: &str, model: &ResourceModel) -> Result<Vec<String>> {
    let mut fields = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let top = name.split('.').next().unwrap_or(name);
        if model.field(top).is_none() {
            return Err(param_error(
                "fields",
                &format!("names an unknown field {name:?}"),
            ));
        }
        if !fields.iter().any(|f| f == top) {
            fields.push(top.to_owned());
        }
    }
    Ok(fields)
}

fn param_error(name: &str, problem: &str) -> Error {
    Error::validation(
        format!("Invalid query parameter {name}: {name} {problem}"),
        serde_json::json!({ "invalid": [{ name: problem }] }),
    )
}

/// A request body as bytes, with an Apideck error when it is too large, cut off, or still
/// incomplete at the request's deadline (a `Content-Length` larger than what was sent).
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        let deadline = req.extensions().get::<RequestDeadline>().copied();
        let announced = req
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let read = Bytes::from_request(req, state);
        let read = match deadline {
            Some(RequestDeadline(at)) => match tokio::time::timeout_at(at, read).await {
                Ok(read) => read,
                Err(_) => return Err(body_timeout(announced.as_deref())),
            },
            None => read.await,
        };
        read.map(Body).map_err(|rejection| {
            let status = rejection.status();
            let detail = match announced {
                Some(length) if status == StatusCode::BAD_REQUEST => format!(
                    "{}; Content-Length announced {length} bytes",
                    rejection.body_text()
                ),
                _ => rejection.body_text(),
            };
            Error::new(status, ErrorType::RequestValidationError, "Invalid body")
                .with_detail(detail.into())
        })
    }
}

/// A body that did not arrive in full before the deadline: the client announced more than it
/// sent, or sends too slowly. A 408, never a 504 that blames the CRM.
fn body_timeout(announced: Option<&str>) -> Error {
    let detail = match announced {
        Some(length) => format!(
            "The body did not arrive in full before the request's deadline; Content-Length announced {length} bytes"
        ),
        None => "The body did not arrive in full before the request's deadline".to_owned(),
    };
    Error::new(
        StatusCode::REQUEST_TIMEOUT,
        ErrorType::RequestValidationError,
        "Request body timed out",
    )
    .with_detail(detail.into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unified::OPPORTUNITIES;

    fn parse(q: &str) -> Result<CrmQuery> {
        CrmQuery::parse(Some(q), QueryShape::List, &OPPORTUNITIES)
    }

    #[test]
    fn reads_what_the_sdks_send() {
        let q = parse(
            "raw=false&limit=20&fields=id%2Ctitle%2Cupdated_at&pass_through%5Bsearch%5D=rocket",
        )
        .unwrap();
        assert!(!q.raw);
        assert_eq!(q.limit, Some(20));
        assert_eq!(q.fields.unwrap(), ["id", "title", "updated_at"]);
        assert_eq!(q.pass_through, [("search".to_owned(), "rocket".to_owned())]);
    }

    #[test]
    fn reads_filters_and_sort() {
        let q = parse("filter%5Bstatus%5D=Open&filter[company_id]=12&sort%5Bby%5D=created_at&sort%5Bdirection%5D=desc").unwrap();
        assert_eq!(
            q.filters,
            [
                ("status".to_owned(), "Open".to_owned()),
                ("company_id".to_owned(), "12".to_owned())
            ]
        );
        assert_eq!(
            q.sort,
            Some(("created_at".to_owned(), SortDirection::Descending))
        );
        assert_eq!(
            parse("sort[by]=title").unwrap().sort,
            Some(("title".to_owned(), SortDirection::Ascending))
        );
        assert_ne!(
            parse("filter[title]=a")
                .unwrap()
                .list_fingerprint(&OPPORTUNITIES),
            parse("filter[title]=b")
                .unwrap()
                .list_fingerprint(&OPPORTUNITIES)
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        for (q, type_name) in [
            ("limit=0", "RequestValidationError"),
            ("limit=201", "RequestValidationError"),
            ("limit=ten", "RequestValidationError"),
            ("raw=yes", "RequestValidationError"),
            ("limt=5", "RequestValidationError"),
            ("limit=5&limit=6", "RequestValidationError"),
            ("fields=id,nope", "RequestValidationError"),
            ("pass_through=x", "RequestValidationError"),
            ("filter=x", "RequestValidationError"),
            ("filter[a][b]=x", "RequestValidationError"),
            ("filter[title]=a&filter[title]=b", "RequestValidationError"),
            (
                "sort[by]=title&sort[direction]=up",
                "RequestValidationError",
            ),
            ("sort[order]=asc", "RequestValidationError"),
            ("sort[direction]=desc", "RequestValidationError"),
        ] {
            assert_eq!(parse(q).unwrap_err().type_name(), type_name, "{q}");
        }
        assert!(CrmQuery::parse(Some("limit=5"), QueryShape::One, &OPPORTUNITIES).is_err());
    }

    #[test]
    fn paging_parameters_cannot_be_passed_through() {
        let paging = ["after", "limit"];
        let q = parse("pass_through[search]=x&pass_through[limit]=5&pass_through[after]=9&pass_through[limit]=6")
            .unwrap();
        let err = q.check_paging_params(&paging).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError");
        assert!(
            err.message()
                .contains("pass_through[limit], pass_through[after]"),
            "{}",
            err.message()
        );
        assert_eq!(err.detail()["invalid"].as_array().unwrap().len(), 2);
        assert!(
            parse("pass_through[search]=x")
                .unwrap()
                .check_paging_params(&paging)
                .is_ok()
        );
        assert!(
            q.check_paging_params(&[]).is_ok(),
            "a connector without paging parameters"
        );
    }
}
