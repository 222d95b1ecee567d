//! The crate's one error type. Every failure a request can meet becomes an [`Error`] carrying
//! Apideck's error type; `api::error` turns it into the HTTP answer in one place.

use std::fmt;
use std::time::Duration;

use axum::http::StatusCode;
use crmgate_connector_sdk::{ConnectorError, DownstreamError, ErrorKind};
use serde_json::Value;

use crate::store::Tenant;
use crate::unified::ResourceModel;

/// Crate-wide result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Apideck's documented error types that crmgate emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorType {
    RequestValidationError,
    RequestHeadersValidationError,
    UnsupportedFiltersError,
    UnsupportedSortFieldError,
    InvalidCursorError,
    UnauthorizedError,
    EntityNotFoundError,
    ConnectorNotFoundError,
    ConnectionNotFoundError,
    ConnectionSettingsError,
    ConnectorExecutionError,
    ConnectorRateLimitError,
    ConnectorOperationUnsupportedError,
    UnsupportedOperationError,
    OAuthInvalidStateError,
    OAuthRedirectUriError,
    OAuthCredentialsNotFoundError,
    InternalServerError,
}

impl ErrorType {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorType::RequestValidationError => "RequestValidationError",
            ErrorType::RequestHeadersValidationError => "RequestHeadersValidationError",
            ErrorType::UnsupportedFiltersError => "UnsupportedFiltersError",
            ErrorType::UnsupportedSortFieldError => "UnsupportedSortFieldError",
            ErrorType::InvalidCursorError => "InvalidCursorError",
            ErrorType::UnauthorizedError => "UnauthorizedError",
            ErrorType::EntityNotFoundError => "EntityNotFoundError",
            ErrorType::ConnectorNotFoundError => "ConnectorNotFoundError",
            ErrorType::ConnectionNotFoundError => "ConnectionNotFoundError",
            ErrorType::ConnectionSettingsError => "ConnectionSettingsError",
            ErrorType::ConnectorExecutionError => "ConnectorExecutionError",
            ErrorType::ConnectorRateLimitError => "ConnectorRateLimitError",
            ErrorType::ConnectorOperationUnsupportedError => "ConnectorOperationUnsupportedError",
            ErrorType::UnsupportedOperationError => "UnsupportedOperationError",
            ErrorType::OAuthInvalidStateError => "OAuthInvalidStateError",
            ErrorType::OAuthRedirectUriError => "OAuthRedirectUriError",
            ErrorType::OAuthCredentialsNotFoundError => "OAuthCredentialsNotFoundError",
            ErrorType::InternalServerError => "InternalServerError",
        }
    }
}

/// A request failure: status, Apideck type, a message and detail safe to show to the client.
/// Boxed, so that `Result`s stay one pointer wide on the success path.
#[derive(Debug)]
pub struct Error(Box<ErrorInner>);

#[derive(Debug)]
struct ErrorInner {
    status: StatusCode,
    type_name: ErrorType,
    message: String,
    detail: Value,
    downstream: Vec<DownstreamError>,
    retry_after: Option<Duration>,
}

impl Error {
    pub fn new(status: StatusCode, type_name: ErrorType, message: impl Into<String>) -> Self {
        Self(Box::new(ErrorInner {
            status,
            type_name,
            message: message.into(),
            detail: Value::Null,
            downstream: Vec::new(),
            retry_after: None,
        }))
    }

    #[must_use]
    pub fn with_detail(mut self, detail: Value) -> Self {
        self.0.detail = detail;
        self
    }

    /// The same failure answered with another status, where the route decides what it means.
    #[must_use]
    pub fn with_status(mut self, status: StatusCode) -> Self {
        self.0.status = status;
        self
    }

    /// When the client may try again, sent as `Retry-After`.
    #[must_use]
    pub fn with_retry_after(mut self, after: Duration) -> Self {
        self.0.retry_after = Some(after);
        self
    }

    /// A body or query that does not satisfy the contract.
    pub fn validation(message: impl Into<String>, detail: Value) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::RequestValidationError,
            message,
        )
        .with_detail(detail)
    }

    /// A body that is not JSON at all; the parser's position tells the client where.
    pub fn malformed_body(err: &serde_json::Error) -> Self {
        Self::validation(
            format!("The body is not valid JSON: {err}"),
            serde_json::json!({ "line": err.line(), "column": err.column() }),
        )
    }

    /// A required header is missing or empty.
    pub fn missing_header(name: &'static str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::RequestHeadersValidationError,
            "Invalid Headers",
        )
        .with_detail(Value::String(format!("Missing Header: {name}")))
    }

    pub fn unauthorized(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            ErrorType::UnauthorizedError,
            "Unauthorized Request",
        )
        .with_detail(Value::String(detail.into()))
    }

    /// A `filter[key]` the connector's table does not declare, with the ones it does.
    pub fn unsupported_filter(key: &str, supported: &[&str]) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::UnsupportedFiltersError,
            "Unsupported filters",
        )
        .with_detail(serde_json::json!({
            "message": format!("filter[{key}] is not supported by this connector"),
            "supported_filters": supported,
        }))
    }

    /// A resource the connection's connector does not serve (it has no mapping table for it),
    /// as Apideck answers it: 501, naming the connector.
    pub fn unsupported_resource(connector: &str, service: &str, resource: &str) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            ErrorType::UnsupportedOperationError,
            format!("{connector} does not serve {resource} through crmgate"),
        )
        .with_detail(serde_json::json!({ "service": service, "resource": resource }))
    }

    /// An operation the connector's manifest does not describe for a resource it serves (a
    /// write to its users, say): 501, naming the connector and the operation.
    pub fn unsupported_operation(
        connector: &str,
        service: &str,
        resource: &str,
        verb: &str,
    ) -> Self {
        Self::new(
            StatusCode::NOT_IMPLEMENTED,
            ErrorType::UnsupportedOperationError,
            format!("{connector} does not {verb} {resource} through crmgate"),
        )
        .with_detail(
            serde_json::json!({ "service": service, "resource": resource, "operation": verb }),
        )
    }

    /// A `sort[by]` the connector's table does not declare, with the ones it does.
    pub fn unsupported_sort(by: &str, supported: &[&str]) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::UnsupportedSortFieldError,
            "Unsupported sort field",
        )
        .with_detail(serde_json::json!({
            "message": format!("sort[by]={by} is not supported by this connector"),
            "supported_sort_fields": supported,
        }))
    }

    pub fn invalid_cursor(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorType::InvalidCursorError,
            "Invalid cursor",
        )
        .with_detail(Value::String(detail.into()))
    }

    pub fn connector_not_found(service: &str) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::ConnectorNotFoundError,
            "Unknown connector",
        )
        .with_detail(Value::String(format!(
            "crmgate has no connector with service id {service:?}"
        )))
    }

    /// A consumer without a connection to the named connector.
    pub fn no_connection(tenant: &Tenant, service: &str) -> Self {
        Self::connection_not_found(format!(
            "Consumer {} has no {service} connection",
            tenant.consumer_id
        ))
    }

    pub fn connection_not_found(detail: impl Into<String>) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorType::ConnectionNotFoundError,
            "Connection not found",
        )
        .with_detail(Value::String(detail.into()))
    }

    pub fn connection_settings(setting: &str) -> Self {
        Self::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorType::ConnectionSettingsError,
            "Connection settings are incomplete",
        )
        .with_detail(serde_json::json!({ "missing": [{ setting: "required" }] }))
    }

    /// A failure of crmgate itself; the cause goes to the log, never to the client.
    pub fn internal(cause: impl fmt::Display) -> Self {
        tracing::error!(error = %cause, "Request failed inside crmgate.");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            ErrorType::InternalServerError,
            "Internal Server Error",
        )
    }

    /// Names the record a not-found error is about, as Apideck does (`Unknown Note`).
    pub fn about(mut self, model: &ResourceModel) -> Self {
        if self.0.type_name == ErrorType::EntityNotFoundError {
            self.0.message = format!("Unknown {}", model.schema_name);
        }
        self
    }

    /// Turns a connector failure into the Apideck error the contract documents for it.
    pub fn from_connector(err: ConnectorError, service: &str) -> Self {
        let vendor = err.vendor_status;
        let (status, type_name, detail) = match &err.kind {
            ErrorKind::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                ErrorType::UnauthorizedError,
                format!("The {service} connection's credentials were rejected by the CRM."),
            ),
            ErrorKind::Revoked => (
                StatusCode::UNAUTHORIZED,
                ErrorType::UnauthorizedError,
                err.message.clone(),
            ),
            ErrorKind::NotFound => (
                StatusCode::NOT_FOUND,
                ErrorType::EntityNotFoundError,
                err.message.clone(),
            ),
            ErrorKind::Rejected => (
                vendor
                    .filter(|s| matches!(s, 400 | 409 | 422))
                    .and_then(|s| StatusCode::from_u16(s).ok())
                    .unwrap_or(StatusCode::BAD_REQUEST),
                ErrorType::ConnectorExecutionError,
                err.message.clone(),
            ),
            ErrorKind::RateLimited => (
                StatusCode::TOO_MANY_REQUESTS,
                ErrorType::ConnectorRateLimitError,
                err.message.clone(),
            ),
            ErrorKind::Unavailable | ErrorKind::BadResponse => (
                StatusCode::BAD_GATEWAY,
                ErrorType::ConnectorExecutionError,
                err.message.clone(),
            ),
            ErrorKind::Timeout => (
                StatusCode::GATEWAY_TIMEOUT,
                ErrorType::ConnectorExecutionError,
                err.message.clone(),
            ),
            ErrorKind::MissingSetting(name) => return Self::connection_settings(name),
            ErrorKind::Refused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ErrorType::ConnectionSettingsError,
                err.message.clone(),
            ),
            ErrorKind::Unsupported => (
                StatusCode::BAD_REQUEST,
                ErrorType::ConnectorOperationUnsupportedError,
                err.message.clone(),
            ),
        };
        let message = match type_name {
            ErrorType::UnauthorizedError => "Unauthorized Request",
            ErrorType::EntityNotFoundError => "Unknown Record",
            ErrorType::ConnectorRateLimitError => "Connector Rate Limit Error",
            ErrorType::ConnectionSettingsError => "Connection settings are invalid",
            _ => "Connector Execution Error",
        };
        let detail = match err.detail {
            Some(said) => *said,
            None => {
                let mut detail = serde_json::json!({ "service": service, "message": detail });
                if let Some(vendor) = vendor {
                    detail["downstream_status"] = vendor.into();
                }
                detail
            }
        };
        Self(Box::new(ErrorInner {
            status,
            type_name,
            message: message.to_owned(),
            detail,
            downstream: err.downstream,
            retry_after: err.retry_after,
        }))
    }

    pub fn status(&self) -> StatusCode {
        self.0.status
    }

    pub fn type_name(&self) -> &'static str {
        self.0.type_name.as_str()
    }

    pub fn message(&self) -> &str {
        &self.0.message
    }

    pub fn detail(&self) -> &Value {
        &self.0.detail
    }

    pub fn downstream(&self) -> &[DownstreamError] {
        &self.0.downstream
    }

    pub fn retry_after(&self) -> Option<Duration> {
        self.0.retry_after
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.type_name(),
            self.status(),
            self.message()
        )
    }
}

impl std::error::Error for Error {}

impl From<sqlx::Error> for Error {
    fn from(err: sqlx::Error) -> Self {
        Error::internal(format_args!("database: {err}"))
    }
}
