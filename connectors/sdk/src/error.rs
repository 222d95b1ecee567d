use std::fmt;
use std::time::Duration;

/// What went wrong, in terms the gateway can turn into one Apideck error type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// The vendor rejected the credentials (401, 403).
    Unauthorized,
    /// The record does not exist at the vendor, or the id cannot be one of its ids.
    NotFound,
    /// The vendor refused the request as invalid (400, 409, 422); the status is proxied.
    Rejected,
    /// The vendor's rate limit was hit.
    RateLimited,
    /// The vendor failed (5xx) or could not be reached.
    Unavailable,
    /// The vendor did not answer in time.
    Timeout,
    /// The vendor answered something that is not what its API documents.
    BadResponse,
    /// A required connection setting is missing or unusable; carries the setting's name.
    MissingSetting(String),
    /// The vendor cannot do what was asked (an operation or resource it lacks).
    Unsupported,
    /// The connection's destination is not one the connector and the operator allow; nothing
    /// was sent.
    Refused,
    /// The vendor no longer honours the connection's OAuth grant (`invalid_grant`): only the
    /// end customer authorizing again repairs it.
    Revoked,
}

/// Who caused the failure; decides whether the client may retry or must change its request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// The vendor answered with an error or misbehaved.
    Vendor,
    /// The gateway could not do its part (transport, configuration).
    Gateway,
    /// The client's request cannot be carried out as given.
    Client,
}

/// One error reported by the vendor, proxied to the client as Apideck's `downstream_errors`.
/// Built from the vendor's error body only: never from request headers, so credentials cannot
/// leak through it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownstreamError {
    pub message: String,
    pub detail: Option<String>,
    pub code: Option<String>,
}

/// A connector failure. The message is safe to show to the client: connectors build it from
/// vendor error bodies and their own words, never from credentials.
#[derive(Debug, Clone)]
pub struct ConnectorError {
    pub kind: ErrorKind,
    pub origin: Origin,
    /// Whether the same request may succeed if sent again unchanged.
    pub retryable: bool,
    pub message: String,
    /// The vendor's HTTP status, when the vendor answered.
    pub vendor_status: Option<u16>,
    pub downstream: Vec<DownstreamError>,
    /// How long the vendor asked us to wait, from `Retry-After`.
    pub retry_after: Option<Duration>,
    /// What the client is told instead of the message, when a hook outside the connector (the
    /// gateway's token refresh) already said it in the client's terms.
    pub detail: Option<Box<serde_json::Value>>,
}

impl ConnectorError {
    /// A failure of the given kind with defaults derived from the kind.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        let (origin, retryable) = match kind {
            ErrorKind::Unauthorized
            | ErrorKind::Revoked
            | ErrorKind::Rejected
            | ErrorKind::BadResponse => (Origin::Vendor, false),
            ErrorKind::RateLimited | ErrorKind::Unavailable | ErrorKind::Timeout => {
                (Origin::Vendor, true)
            }
            ErrorKind::NotFound | ErrorKind::Unsupported => (Origin::Client, false),
            ErrorKind::MissingSetting(_) | ErrorKind::Refused => (Origin::Client, false),
        };
        Self {
            kind,
            origin,
            retryable,
            message: message.into(),
            vendor_status: None,
            downstream: Vec::new(),
            retry_after: None,
            detail: None,
        }
    }

    /// The error with the detail the client gets (see [`ConnectorError::detail`]).
    #[must_use]
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(Box::new(detail));
        self
    }

    /// The record with this id does not exist, or the id cannot be a vendor id.
    pub fn not_found(id: &str) -> Self {
        Self::new(ErrorKind::NotFound, format!("No record with id {id:?}."))
    }

    /// Checks an id for vendors whose ids are integers: anything else cannot name a record, so
    /// it is answered as not found without a call (and cannot smuggle a path or query into a
    /// URL).
    pub fn check_integer_id(id: &str) -> Result<(), Self> {
        if !id.is_empty() && id.len() <= 20 && id.bytes().all(|b| b.is_ascii_digit()) {
            Ok(())
        } else {
            Err(Self::not_found(id))
        }
    }

    /// A vendor answer that does not parse as the documented JSON. The parser's words are not
    /// repeated, since they quote the body, and a body that is not the vendor's may hold anything;
    /// where the parse failed is kept.
    pub fn bad_response(status: u16, err: serde_json::Error) -> Self {
        let what = match err.classify() {
            serde_json::error::Category::Io => "could not be read",
            serde_json::error::Category::Syntax => "is not JSON",
            serde_json::error::Category::Data => "is not the JSON its API documents",
            serde_json::error::Category::Eof => "ends before its JSON does",
        };
        Self::unreadable(
            status,
            &format!(
                "its body {what} (line {}, column {})",
                err.line(),
                err.column()
            ),
        )
    }

    /// A vendor answer crmgate cannot use, for a reason in crmgate's own words.
    pub fn unreadable(status: u16, reason: &str) -> Self {
        let mut err = Self::new(
            ErrorKind::BadResponse,
            format!("The CRM answered with something crmgate cannot read: {reason}."),
        );
        err.vendor_status = Some(status);
        err
    }

    /// A destination the outbound policy refused.
    pub fn refused(refusal: &crate::Refusal) -> Self {
        Self::new(
            ErrorKind::Refused,
            format!("The connection's base_url is not allowed: {refusal}."),
        )
    }

    #[must_use]
    pub fn with_status(mut self, status: u16) -> Self {
        self.vendor_status = Some(status);
        self
    }

    #[must_use]
    pub fn with_downstream(mut self, downstream: Vec<DownstreamError>) -> Self {
        self.downstream = downstream;
        self
    }

    #[must_use]
    pub fn with_retry_after(mut self, after: Option<Duration>) -> Self {
        self.retry_after = after;
        self
    }
}

impl fmt::Display for ConnectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.vendor_status {
            Some(status) => write!(
                f,
                "{:?} (vendor status {status}): {}",
                self.kind, self.message
            ),
            None => write!(f, "{:?}: {}", self.kind, self.message),
        }
    }
}

impl std::error::Error for ConnectorError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_digits_can_be_an_integer_id() {
        assert!(ConnectorError::check_integer_id("12345").is_ok());
        for bad in ["", "abc", "12a", "1/2", "../x", "1?x=y", &"9".repeat(21)] {
            let err = ConnectorError::check_integer_id(bad).unwrap_err();
            assert_eq!(err.kind, ErrorKind::NotFound, "{bad}");
        }
    }
}
