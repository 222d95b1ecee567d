//! crmgate: a self-hosted unified CRM API gateway that speaks Apideck's Unified CRM API.
//!
//! A call flows `api` (contract, tenancy) → `store` (the tenant's connection) → `mapping`
//! (unified JSON → vendor JSON) → a connector (HTTP to the vendor) and back the same way.

pub mod api;
pub mod config;
pub mod conformance;
pub mod error;
pub mod mapping;
pub mod registry;
pub mod server;
pub mod store;
pub mod unified;
