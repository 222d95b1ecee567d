//! Changing a record's associations on update. HubSpot's PATCH takes properties only; the
//! links a table writes (`associations: {contacts: [...], company: ...}`, as on create) are
//! set afterwards through the associations of the record itself: each named link is put with
//! its type and, where the unified field names the whole set, the current links are read and
//! the others removed. Each call is idempotent (PUT or DELETE of one pair), so none is retried
//! blindly and a second update converges on the same links.

use std::collections::BTreeSet;

use crmgate_connector_sdk::{
    CallContext, ConnectorError, Resource, Result, VendorErrors, VendorRequest, id_text,
};
use http::Method;
use serde_json::{Map, Value, json};

use crate::hooks::{LinkKind, link_kinds};
use crate::model::LinkPage;

/// HubSpot's object type of a resource, in the paths of its associations.
fn object(resource: Resource) -> Option<&'static str> {
    match resource {
        Resource::Opportunities => Some("deals"),
        Resource::Notes => Some("notes"),
        Resource::Contacts => Some("contacts"),
        _ => None,
    }
}

/// What an update asks of one associated type.
#[derive(Debug, PartialEq, Eq)]
struct Change {
    to: &'static str,
    type_id: u32,
    ids: BTreeSet<String>,
    /// The ids are the whole set (a list field, or a one-valued link such as a deal's primary
    /// company); otherwise they are added to what is there.
    replace: bool,
}

/// The changes `links` (the `associations` a table wrote) ask for, per associated type.
fn changes(kinds: &[LinkKind], links: &Map<String, Value>) -> Vec<Change> {
    let mut out: Vec<Change> = Vec::new();
    for kind in kinds {
        let given: Vec<&Value> = kind.keys.iter().filter_map(|k| links.get(*k)).collect();
        if given.is_empty() {
            continue;
        }
        let replace = kind.replace.iter().any(|k| links.contains_key(*k));
        let ids: BTreeSet<String> = given.into_iter().flat_map(ids_of).collect();
        // A one-valued contact cleared with null asks nothing: the other contacts stay.
        if ids.is_empty() && !replace {
            continue;
        }
        out.push(Change {
            to: kind.to,
            type_id: kind.type_id,
            ids,
            replace,
        });
    }
    out
}

/// The ids a link value names; the table clears with `""` (HubSpot's "no value"), which
/// names none.
fn ids_of(value: &Value) -> Vec<String> {
    let items = match value {
        Value::Array(items) => items.as_slice(),
        other => std::slice::from_ref(other),
    };
    items
        .iter()
        .filter_map(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Sets the links of record `id` that `links` names; `saved` says whether the update's
/// properties were saved before, for the message of a failure.
pub async fn apply(
    cx: &CallContext,
    errors: &dyn VendorErrors,
    resource: Resource,
    id: &str,
    links: &Map<String, Value>,
    saved: bool,
) -> Result<()> {
    let Some(from) = object(resource) else {
        return Ok(());
    };
    for change in changes(link_kinds(resource), links) {
        let base = format!(
            "/crm/objects/2026-09/{from}/{id}/associations/{}",
            change.to
        );
        let failed = |e| partly(e, change.to, saved);
        // Only a change of the whole set removes links, so only it reads those there are.
        let current = match change.replace {
            true => current(cx, errors, &base).await.map_err(failed)?,
            false => BTreeSet::new(),
        };
        // Every named link is put, present or not: the PUT is idempotent and gives an
        // existing link the type asked for (an unlabelled company becomes the primary one).
        for to in &change.ids {
            let body = json!([{ "associationCategory": "HUBSPOT_DEFINED", "associationTypeId": change.type_id }]);
            let rq = VendorRequest::new(Method::PUT, cx.url(&format!("{base}/{to}"))).json(body);
            cx.http.send(rq, errors).await.map_err(failed)?;
        }
        for to in current.difference(&change.ids) {
            let rq = VendorRequest::new(Method::DELETE, cx.url(&format!("{base}/{to}")));
            cx.http.send(rq, errors).await.map_err(failed)?;
        }
    }
    Ok(())
}

/// The ids the record is linked to, every page of them.
async fn current(
    cx: &CallContext,
    errors: &dyn VendorErrors,
    base: &str,
) -> Result<BTreeSet<String>> {
    let mut ids = BTreeSet::new();
    let mut after: Option<String> = None;
    loop {
        let mut url = cx.url(base);
        url.query_pairs_mut().append_pair("limit", "500");
        if let Some(after) = &after {
            url.query_pairs_mut().append_pair("after", after);
        }
        let response = cx
            .http
            .send(VendorRequest::new(Method::GET, url), errors)
            .await?;
        let page: LinkPage = serde_json::from_slice(&response.body)
            .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
        ids.extend(page.results.iter().map(|r| id_text(&r.to_object_id)));
        match page.paging.and_then(|p| p.next).map(|n| n.after) {
            Some(next) if after.as_ref() != Some(&next) => after = Some(next),
            _ => return Ok(ids),
        }
    }
}

/// A failed link change names the links, and says when the record's properties were saved
/// before, so that a client does not take the whole update for lost.
fn partly(mut err: ConnectorError, to: &str, saved: bool) -> ConnectorError {
    err.message = match saved {
        true => format!(
            "The record's fields were saved, but changing its {to} failed: {}",
            err.message
        ),
        false => format!("Changing the record's {to} failed: {}", err.message),
    };
    err
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_list_replaces_and_a_single_contact_adds() {
        let kinds = link_kinds(Resource::Opportunities);
        let links = json!({ "contacts": ["7", "8"], "primary_contact": "7", "company": null });
        let got = changes(kinds, links.as_object().unwrap());
        assert_eq!(
            got,
            [
                Change {
                    to: "contacts",
                    type_id: 3,
                    ids: ["7".to_owned(), "8".to_owned()].into(),
                    replace: true
                },
                Change {
                    to: "companies",
                    type_id: 5,
                    ids: BTreeSet::new(),
                    replace: true
                },
            ]
        );
        let single = json!({ "contact": "9" });
        let got = changes(kinds, single.as_object().unwrap());
        assert_eq!(got.len(), 1);
        assert!(!got[0].replace, "one contact is added beside the others");
        for cleared in [json!({ "contact": null }), json!({ "contact": "" })] {
            assert!(changes(kinds, cleared.as_object().unwrap()).is_empty());
        }
    }
}
