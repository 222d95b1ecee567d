//! The integration tests: one binary, a gateway per test on a free port with its own database,
//! and wiremock standing in for the vendor with `.expect(n)` on every call that must (or must
//! not) happen.

mod activities;
mod app;
mod attio;
mod boundaries;
mod cache;
mod churn;
mod cli;
mod conformance;
mod contacts;
mod copper;
mod crm;
mod deploy;
mod dynamics;
mod errors;
mod faults;
mod hosted_vault;
mod hubspot;
mod input;
mod leads;
mod mappings;
mod oauth;
mod openapi;
mod outbound;
mod paging;
mod pipedrive;
mod pipelines;
mod plugins;
mod proxy;
mod repoint;
mod salesforce;
mod schema;
mod scopes;
mod tenancy;
mod vault;
mod writes;
mod zoho;
