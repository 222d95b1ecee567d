//! The vendor of a replayed scenario: a loopback HTTP server that answers every call with the
//! next recorded answer and keeps what it was sent, so that the gateway talks real HTTP to
//! it through the connector's outbound client, exactly as it would to the vendor.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio::sync::oneshot;

/// An answer the vendor gives.
pub(super) struct Answer {
    pub status: u16,
    pub headers: BTreeMap<String, String>,
    pub body: Option<Value>,
}

/// A call the vendor received.
#[derive(Debug, Clone)]
pub(super) struct Received {
    pub method: String,
    pub path: String,
    pub query: BTreeMap<String, String>,
    pub headers: HeaderMap,
    pub body: Bytes,
}

#[derive(Default)]
struct Calls {
    answers: VecDeque<Answer>,
    received: Vec<Received>,
}

/// A running replay vendor; it stops when dropped.
pub(super) struct Vendor {
    pub address: String,
    calls: Arc<Mutex<Calls>>,
    _stop: oneshot::Sender<()>,
}

impl Vendor {
    pub async fn start() -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = format!("http://{}", listener.local_addr()?);
        let calls = Arc::new(Mutex::new(Calls::default()));
        let router = axum::Router::new()
            .fallback(answer)
            .with_state(calls.clone());
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(async move {
            let _ = axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Self {
            address,
            calls,
            _stop: stop,
        })
    }

    /// Replaces the answers still to give.
    pub fn answer_with(&self, answers: Vec<Answer>) {
        self.lock().answers = answers.into();
    }

    /// The calls received since the last time this was asked.
    pub fn take_received(&self) -> Vec<Received> {
        std::mem::take(&mut self.lock().received)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Calls> {
        self.calls.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

async fn answer(
    State(calls): State<Arc<Mutex<Calls>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let query = uri
        .query()
        .map(|q| {
            form_urlencoded::parse(q.as_bytes())
                .into_owned()
                .collect::<BTreeMap<_, _>>()
        })
        .unwrap_or_default();
    let next = {
        let mut calls = calls.lock().unwrap_or_else(PoisonError::into_inner);
        calls.received.push(Received {
            method: method.to_string(),
            path: uri.path().to_owned(),
            query,
            headers,
            body,
        });
        calls.answers.pop_front()
    };
    let Some(next) = next else {
        // 599 is no status a vendor sends: the fixture lists fewer calls than were made.
        return (
            StatusCode::from_u16(599).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            "the fixture has no answer for this call",
        )
            .into_response();
    };
    let status = StatusCode::from_u16(next.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let mut response = match next.body {
        Some(body) => (
            status,
            [("content-type", "application/json")],
            body.to_string(),
        )
            .into_response(),
        None => status.into_response(),
    };
    for (name, value) in next.headers {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(&value),
        ) {
            response.headers_mut().insert(name, value);
        }
    }
    response
}
