//! A vendor's error answers as its manifest describes them: which unified kind a status (and
//! body) is, where the vendor's own messages are, and which statuses a read may retry.

use serde_json::Value;

use crate::manifest::{Errors, Predicate, RecordPath, UnifiedErrorKind};
use crate::{DownstreamError, ErrorKind, VendorErrors};

impl VendorErrors for Errors {
    fn downstream(&self, body: &[u8]) -> Vec<DownstreamError> {
        let Some(messages) = &self.messages else {
            return Vec::new();
        };
        // An object, or a list of errors (Salesforce's `[{message, errorCode}]`).
        let Ok(doc @ (Value::Object(_) | Value::Array(_))) = serde_json::from_slice::<Value>(body)
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // A message is text: a path that finds an object (Close's `error` is text on most
        // answers and an object on a 429) counts as finding nothing, so `items` can read it.
        let message = messages.message.as_ref().and_then(|p| words(p, &doc));
        if let Some(message) = message {
            out.push(DownstreamError {
                message,
                detail: messages.detail.as_ref().and_then(|p| text(p, &doc)),
                code: messages.code.as_ref().and_then(|p| text(p, &doc)),
            });
        }
        if let Some(items) = &messages.items {
            for item in items.at.find_all(&doc).into_iter().flat_map(each) {
                let Some(message) = words(&items.message, item) else {
                    continue;
                };
                out.push(DownstreamError {
                    message,
                    detail: items.detail.as_ref().and_then(|p| text(p, item)),
                    code: items.code.as_ref().and_then(|p| text(p, item)),
                });
            }
        }
        // The fallback stands in for a body that said nothing a client can read.
        if out.is_empty()
            && let Some(fallback) = &messages.fallback
        {
            out.push(DownstreamError {
                message: fallback.clone(),
                detail: messages.detail.as_ref().and_then(|p| text(p, &doc)),
                code: messages.code.as_ref().and_then(|p| text(p, &doc)),
            });
        }
        out
    }

    fn kind(&self, status: u16, body: &[u8]) -> Option<ErrorKind> {
        let doc = std::cell::OnceCell::new();
        let doc = || doc.get_or_init(|| serde_json::from_slice(body).unwrap_or(Value::Null));
        let rule = self.rules.iter().find(|rule| {
            rule.status.matches(status) && rule.when.as_ref().is_none_or(|p| p.holds(doc()))
        })?;
        Some(match rule.kind {
            UnifiedErrorKind::Unauthorized => ErrorKind::Unauthorized,
            UnifiedErrorKind::NotFound => ErrorKind::NotFound,
            UnifiedErrorKind::Rejected => ErrorKind::Rejected,
            UnifiedErrorKind::RateLimited => ErrorKind::RateLimited,
            UnifiedErrorKind::Unavailable => ErrorKind::Unavailable,
            UnifiedErrorKind::Timeout => ErrorKind::Timeout,
            UnifiedErrorKind::BadResponse => ErrorKind::BadResponse,
            UnifiedErrorKind::Unsupported => ErrorKind::Unsupported,
        })
    }

    fn transient(&self, status: u16) -> bool {
        self.retry_reads_on.iter().any(|p| p.matches(status))
    }
}

/// A list's items, or the value itself.
fn each(value: &Value) -> Vec<&Value> {
    match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    }
}

/// The text at `path` when it is a message: a string, a number or a boolean, not a structure.
fn words(path: &RecordPath, doc: &Value) -> Option<String> {
    match path.find(doc)? {
        Value::Object(_) | Value::Array(_) | Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The value at `path` as text: strings as they are, anything else as its JSON.
pub(super) fn text(path: &RecordPath, doc: &Value) -> Option<String> {
    path.find(doc).map(|v| match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

impl Predicate {
    /// Whether the document passes the test.
    pub fn holds(&self, doc: &Value) -> bool {
        match self {
            Predicate::Equals(p) => p.path.find_all(doc).contains(&&p.value),
            Predicate::OneOf(p) => p.path.find_all(doc).iter().any(|v| p.values.contains(v)),
            Predicate::Present(p) => p.path.find(doc).is_some(),
            Predicate::Not(p) => !p.predicate.holds(doc),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(yaml: &str) -> Errors {
        serde_saphyr::from_str(yaml).unwrap()
    }

    #[test]
    fn messages_and_items_are_read_from_their_paths() {
        let spec = errors(
            "messages:\n  message: $.message\n  detail: $.subCategory\n  code: $.category\n  fallback: The vendor failed.\n  items:\n    at: $.errors\n    message: $.message\n    code: $.code\n    detail: $.context\nrules: []\n",
        );
        let body = br#"{"message":"Bad","category":"VALIDATION_ERROR","errors":[{"message":"amount","code":"INVALID","context":{"a":[1]}},{"code":"no message"}]}"#;
        assert_eq!(
            spec.downstream(body),
            [
                DownstreamError {
                    message: "Bad".into(),
                    detail: None,
                    code: Some("VALIDATION_ERROR".into())
                },
                DownstreamError {
                    message: "amount".into(),
                    detail: Some(r#"{"a":[1]}"#.into()),
                    code: Some("INVALID".into())
                },
            ]
        );
        assert_eq!(
            spec.downstream(br#"{"code": 5}"#)[0].message,
            "The vendor failed."
        );
        // A structure where the message should be is no message; its items still are, and
        // then the fallback is not needed.
        assert_eq!(
            spec.downstream(br#"{"message":{"m":1},"errors":[{"message":"x"}]}"#),
            [DownstreamError {
                message: "x".into(),
                detail: None,
                code: None
            }]
        );
        assert_eq!(
            spec.downstream(br#"{"message":{"m":1}}"#)[0].message,
            "The vendor failed."
        );
        assert!(spec.downstream(b"<html>").is_empty());
        // A list is read too; one that holds no messages gets the fallback.
        assert_eq!(spec.downstream(b"[1]")[0].message, "The vendor failed.");
        let list = errors(
            "messages:\n  items: { at: $, message: $.message, code: $.errorCode }\nrules: []\n",
        );
        assert_eq!(
            list.downstream(br#"[{"message":"Required fields are missing","errorCode":"REQUIRED_FIELD_MISSING"}]"#),
            [DownstreamError {
                message: "Required fields are missing".into(),
                detail: None,
                code: Some("REQUIRED_FIELD_MISSING".into())
            }]
        );
    }

    #[test]
    fn the_first_matching_rule_decides_the_kind() {
        let spec = errors(
            "rules:\n  - { status: 400, when: { type: equals, path: $.code, value: ERR_NOT_FOUND }, kind: not_found }\n  - { status: 4xx, kind: rejected }\nretry_reads_on: [429, 5xx]\n",
        );
        assert_eq!(
            spec.kind(400, br#"{"code":"ERR_NOT_FOUND"}"#),
            Some(ErrorKind::NotFound)
        );
        assert_eq!(spec.kind(400, b"{}"), Some(ErrorKind::Rejected));
        assert_eq!(spec.kind(500, b"{}"), None);
        assert!(spec.transient(503) && spec.transient(429) && !spec.transient(409));
    }
}
