//! Apideck's Unified CRM resources, and the query parameters they share.

pub mod opportunities;

use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use bytes::Bytes;

use crate::error::{Error, ErrorType, Result};
use crate::unified::FieldDef;

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
    pub fn parse(query: Option<&str>, shape: QueryShape, resource: &[FieldDef]) -> Result<Self> {
        let mut out = CrmQuery::default();
        let mut seen: Vec<String> = Vec::new();
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
                    out.fields = Some(parse_fields(&value, resource)?);
                }
                (QueryShape::List, "filter") => {
                    return Err(Error::new(
                        StatusCode::BAD_REQUEST,
                        ErrorType::UnsupportedFiltersError,
                        "Unsupported filters",
                    )
                    .with_detail(format!("Filter {key} is not supported by crmgate yet").into()));
                }
                (QueryShape::List, "sort") => {
                    return Err(Error::new(
                        StatusCode::BAD_REQUEST,
                        ErrorType::UnsupportedSortFieldError,
                        "Unsupported sort field",
                    )
                    .with_detail(format!("Sort {key} is not supported by crmgate yet").into()));
                }
                (QueryShape::List, "pass_through") => {
                    let name = key
                        .strip_prefix("pass_through[")
                        .and_then(|k| k.strip_suffix(']'))
                        .filter(|k| !k.is_empty() && !k.contains(['[', ']']))
                        .ok_or_else(|| param_error(&key, "must be pass_through[name]=value"))?;
                    out.pass_through.push((name.to_owned(), value.into_owned()));
                }
                _ => return Err(param_error(&key, "is not a parameter of this operation")),
            }
        }
        Ok(out)
    }
}

fn parse_fields(value: &str, resource: &[FieldDef]) -> Result<Vec<String>> {
    let mut fields = Vec::new();
    for name in value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
        let top = name.split('.').next().unwrap_or(name);
        if !resource.iter().any(|f| f.name == top) {
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

/// A request body as bytes, with an Apideck error when it is too large or cut off.
pub struct Body(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for Body {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self> {
        Bytes::from_request(req, state)
            .await
            .map(Body)
            .map_err(|rejection| {
                let status = rejection.status();
                Error::new(status, ErrorType::RequestValidationError, "Invalid body")
                    .with_detail(rejection.body_text().into())
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::unified::OPPORTUNITY_FIELDS;

    fn parse(q: &str) -> Result<CrmQuery> {
        CrmQuery::parse(Some(q), QueryShape::List, OPPORTUNITY_FIELDS)
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
            ("filter[status]=Open", "UnsupportedFiltersError"),
            ("sort[by]=created_at", "UnsupportedSortFieldError"),
        ] {
            assert_eq!(parse(q).unwrap_err().type_name(), type_name, "{q}");
        }
        assert!(CrmQuery::parse(Some("limit=5"), QueryShape::One, OPPORTUNITY_FIELDS).is_err());
    }
}
