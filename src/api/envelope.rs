//! Apideck's success envelope, written around unified data that the mapping engine has already
//! serialised, so a page of records is never parsed or copied into a tree again.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// The fixed part of an envelope: the six keys Apideck's SDKs require.
pub struct Envelope<'a> {
    pub status: StatusCode,
    pub service: &'a str,
    pub resource: &'a str,
    pub operation: &'a str,
}

/// The optional parts of an envelope.
#[derive(Default)]
pub struct Extras {
    pub meta: Option<Value>,
    pub links: Option<Value>,
    /// The vendor's answer as JSON text, written as it is.
    pub raw: Option<Box<RawValue>>,
}

impl Envelope<'_> {
    /// The response with `data` (already JSON) inside the envelope.
    pub fn respond(self, data: &[u8], extras: Extras) -> Response {
        self.respond_writing(data.len(), extras, |out| out.extend_from_slice(data))
    }

    /// The response with the data `write` writes (JSON, about `size` bytes) inside the
    /// envelope: written in place, so a page of records is never copied into it.
    pub fn respond_writing(
        self,
        size: usize,
        extras: Extras,
        write: impl FnOnce(&mut Vec<u8>),
    ) -> Response {
        let mut out = Vec::with_capacity(size + 512);
        out.extend_from_slice(b"{\"status_code\":");
        out.extend_from_slice(self.status.as_u16().to_string().as_bytes());
        field(
            &mut out,
            "status",
            &self.status.canonical_reason().unwrap_or("OK"),
        );
        field(&mut out, "service", &self.service);
        field(&mut out, "resource", &self.resource);
        field(&mut out, "operation", &self.operation);
        out.extend_from_slice(b",\"data\":");
        write(&mut out);
        if let Some(meta) = &extras.meta {
            field(&mut out, "meta", meta);
        }
        if let Some(links) = &extras.links {
            field(&mut out, "links", links);
        }
        if let Some(raw) = &extras.raw {
            field(&mut out, "_raw", raw);
        }
        out.push(b'}');
        let mut response = (self.status, out).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        response
    }
}

fn field(out: &mut Vec<u8>, name: &str, value: &impl Serialize) {
    out.push(b',');
    serde_json::to_writer(&mut *out, name).expect("writing to a Vec cannot fail");
    out.push(b':');
    serde_json::to_writer(&mut *out, value).expect("writing to a Vec cannot fail");
}

/// `{"id": "..."}`, the data of create, update and delete answers.
pub fn unified_id(id: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "id": id })).expect("an id serialises")
}
