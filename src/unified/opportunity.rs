//! The unified `Opportunity`, exactly as Apideck's `crm.yml` names and types it.

use std::str::FromStr;

use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::IgnoredAny;
use serde_json::{Map, Value};

use super::{
    Currency, CustomField, FieldDef, FieldKind, FilterKind, PassThrough, ResourceDef, UnifiedDate,
    UnifiedDateTime, UnifiedDecimal,
};
use crate::error::Error;

const fn field(name: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        kind,
        read_only: false,
    }
}

const fn read_only(name: &'static str, kind: FieldKind) -> FieldDef {
    FieldDef {
        name,
        kind,
        read_only: true,
    }
}

/// Every property of `Opportunity` in the contract's order, which is also the order of the keys
/// in every unified record crmgate writes. `pass_through` is write-only and not listed here.
pub const OPPORTUNITY_FIELDS: &[FieldDef] = &[
    read_only("id", FieldKind::Id),
    field("title", FieldKind::Title),
    field("primary_contact_id", FieldKind::Id),
    field("description", FieldKind::String),
    field("type", FieldKind::String),
    field("monetary_amount", FieldKind::Decimal),
    field("currency", FieldKind::Currency),
    field("win_probability", FieldKind::Decimal),
    read_only("expected_revenue", FieldKind::Decimal),
    field("close_date", FieldKind::Date),
    field("loss_reason_id", FieldKind::Id),
    field("loss_reason", FieldKind::String),
    field("won_reason_id", FieldKind::Id),
    field("won_reason", FieldKind::String),
    field("pipeline_id", FieldKind::Id),
    field("pipeline_stage_id", FieldKind::Id),
    field("source_id", FieldKind::Id),
    field("lead_id", FieldKind::Id),
    field("lead_source", FieldKind::String),
    field("contact_id", FieldKind::Id),
    field("contact_ids", FieldKind::IdList),
    field("company_id", FieldKind::Id),
    field("company_name", FieldKind::String),
    field("owner_id", FieldKind::Id),
    field("priority", FieldKind::String),
    field("status", FieldKind::String),
    field("status_id", FieldKind::Id),
    field("tags", FieldKind::StringList),
    read_only("interaction_count", FieldKind::Decimal),
    field("custom_fields", FieldKind::CustomFields),
    field("stage_last_changed_at", FieldKind::DateTime),
    read_only("last_activity_at", FieldKind::String),
    read_only("deleted", FieldKind::Bool),
    read_only("date_stage_changed", FieldKind::DateTime),
    read_only("date_last_contacted", FieldKind::DateTime),
    read_only("date_lead_created", FieldKind::DateTime),
    read_only("custom_mappings", FieldKind::CustomMappings),
    read_only("updated_by", FieldKind::Id),
    read_only("created_by", FieldKind::Id),
    read_only("updated_at", FieldKind::DateTime),
    read_only("created_at", FieldKind::DateTime),
];

/// The keys of Apideck's `OpportunitiesFilter`, with the type each value has.
pub const OPPORTUNITY_FILTERS: &[(&str, FilterKind)] = &[
    ("title", FilterKind::String),
    ("status", FilterKind::String),
    ("monetary_amount", FilterKind::Number),
    ("win_probability", FilterKind::Number),
    ("company_id", FilterKind::String),
    ("owner_id", FilterKind::String),
    ("primary_contact_id", FilterKind::String),
];

/// The values of Apideck's `OpportunitiesSort.by`.
pub const OPPORTUNITY_SORTS: &[&str] = &[
    "created_at",
    "updated_at",
    "title",
    "win_probability",
    "monetary_amount",
    "status",
];

/// The values of `status` a client may write. The contract types `status` as a free string
/// (its example is `Open`); crmgate fixes the values every mapping table speaks, so that a
/// typo is a 400 here rather than a vendor error or a silently stored string.
const OPPORTUNITY_STATUSES: &[&str] = &["Open", "Won", "Lost", "Abandoned"];

/// The values of `priority` a client may write; the contract's example is `None`.
const OPPORTUNITY_PRIORITIES: &[&str] = &["None", "Low", "Medium", "High"];

/// Opportunities as a unified resource.
pub const OPPORTUNITIES: ResourceDef = ResourceDef {
    fields: OPPORTUNITY_FIELDS,
    filters: OPPORTUNITY_FILTERS,
    sorts: OPPORTUNITY_SORTS,
};

/// The write body of `POST` and `PATCH /crm/opportunities`, used to validate a client's body with
/// precise errors. Read-only properties are accepted and ignored, as the contract marks them
/// `readOnly` and Apideck's SDKs may echo a record back.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(
    dead_code,
    reason = "fields exist to type-check the body; the mapping reads the JSON"
)]
pub struct OpportunityInput {
    title: Option<String>,
    primary_contact_id: Option<String>,
    description: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    monetary_amount: Option<UnifiedDecimal>,
    currency: Option<Currency>,
    win_probability: Option<UnifiedDecimal>,
    close_date: Option<UnifiedDate>,
    loss_reason_id: Option<String>,
    loss_reason: Option<String>,
    won_reason_id: Option<String>,
    won_reason: Option<String>,
    pipeline_id: Option<String>,
    pipeline_stage_id: Option<String>,
    source_id: Option<String>,
    lead_id: Option<String>,
    lead_source: Option<String>,
    contact_id: Option<String>,
    contact_ids: Option<Vec<String>>,
    company_id: Option<String>,
    company_name: Option<String>,
    owner_id: Option<String>,
    priority: Option<String>,
    status: Option<String>,
    status_id: Option<String>,
    tags: Option<Vec<String>>,
    custom_fields: Option<Vec<CustomField>>,
    stage_last_changed_at: Option<UnifiedDateTime>,
    pass_through: Option<Vec<PassThrough>>,
    id: Option<IgnoredAny>,
    expected_revenue: Option<IgnoredAny>,
    interaction_count: Option<IgnoredAny>,
    last_activity_at: Option<IgnoredAny>,
    deleted: Option<IgnoredAny>,
    date_stage_changed: Option<IgnoredAny>,
    date_last_contacted: Option<IgnoredAny>,
    date_lead_created: Option<IgnoredAny>,
    custom_mappings: Option<IgnoredAny>,
    updated_by: Option<IgnoredAny>,
    created_by: Option<IgnoredAny>,
    updated_at: Option<IgnoredAny>,
    created_at: Option<IgnoredAny>,
}

/// A validated write body: the client's JSON object, with read-only properties removed and
/// `pass_through` split off, so that the mapping sees exactly what the client asked to write —
/// including the difference between an absent property and an explicit `null`.
#[derive(Debug)]
pub struct OpportunityWrite {
    pub fields: Map<String, Value>,
    pub pass_through: Vec<PassThrough>,
}

impl OpportunityWrite {
    /// Validates a request body. `require_title` is set for creates, where the contract requires
    /// `title`.
    pub fn from_body(body: &[u8], require_title: bool) -> Result<Self, Error> {
        // serde would also read a struct from an array; the contract wants an object.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::validation(
                "The body must be a JSON object",
                serde_json::json!({ "body": "expected a JSON object" }),
            ));
        }
        let mut de = serde_json::Deserializer::from_slice(body);
        let input: OpportunityInput =
            serde_path_to_error::deserialize(&mut de).map_err(|e| body_error(&e))?;
        de.end().map_err(|e| Error::malformed_body(&e))?;
        if require_title && input.title.is_none() {
            return Err(Error::validation(
                "Missing property title",
                serde_json::json!({ "missing": [{ "title": "required" }] }),
            ));
        }
        for field in input.custom_fields.iter().flatten() {
            field.check()?;
        }
        if let Some(p) = &input.win_probability {
            check_percentage("win_probability", &p.0)?;
        }
        let mut fields: Map<String, Value> =
            serde_json::from_slice(body).map_err(|e| Error::malformed_body(&e))?;
        // Compared as given: `null` beside an id differs too.
        if let (Some(contact), Some(primary)) =
            (fields.get("contact_id"), fields.get("primary_contact_id"))
            && contact != primary
        {
            return Err(conflict("contact_id", "primary_contact_id"));
        }
        for (name, allowed) in [
            ("status", OPPORTUNITY_STATUSES),
            ("priority", OPPORTUNITY_PRIORITIES),
        ] {
            if let Some(Value::String(given)) = fields.get_mut(name) {
                *given = one_of(name, given, allowed)?.to_owned();
            }
        }
        let pass_through = match fields.remove("pass_through") {
            Some(_) => input.pass_through.unwrap_or_default(),
            None => Vec::new(),
        };
        fields.retain(|name, _| {
            OPPORTUNITY_FIELDS
                .iter()
                .any(|f| f.name == name && !f.read_only)
        });
        // Decimals go on in the plain notation they were checked in, never as the client's
        // exponent form.
        for (name, decimal) in [
            ("monetary_amount", input.monetary_amount),
            ("win_probability", input.win_probability),
        ] {
            if let Some(UnifiedDecimal(number)) = decimal {
                fields.insert(name.to_owned(), Value::Number(number));
            }
        }
        Ok(Self {
            fields,
            pass_through,
        })
    }
}

/// A percentage must lie in 0–100; checked exactly, as the value is sent with its digits.
fn check_percentage(name: &str, value: &serde_json::Number) -> Result<(), Error> {
    let text = value.to_string();
    let in_range = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .is_ok_and(|d| (Decimal::ZERO..=Decimal::ONE_HUNDRED).contains(&d));
    if in_range {
        return Ok(());
    }
    let problem = format!("must be from 0 to 100, got {text}");
    Err(Error::validation(
        format!("Invalid property {name}: {problem}"),
        serde_json::json!({ "invalid": [{ name: problem }] }),
    ))
}

/// The canonical spelling of one of `allowed`, matched without regard to case (`won` is
/// `Won`), so that every table and vendor sees one spelling.
fn one_of<'a>(name: &str, given: &str, allowed: &[&'a str]) -> Result<&'a str, Error> {
    allowed
        .iter()
        .find(|v| v.eq_ignore_ascii_case(given))
        .copied()
        .ok_or_else(|| {
            let problem = format!("must be one of {}, got {given:?}", allowed.join(", "));
            Error::validation(
                format!("Invalid property {name}: {problem}"),
                serde_json::json!({ "invalid": [{ name: problem }] }),
            )
        })
}

/// Two properties that name the same thing were given different values.
fn conflict(a: &str, b: &str) -> Error {
    Error::validation(
        format!("Properties {a} and {b} differ: both name the opportunity's primary contact"),
        serde_json::json!({ "invalid": [
            { a: format!("differs from {b}") },
            { b: format!("differs from {a}") }
        ] }),
    )
}

fn body_error(err: &serde_path_to_error::Error<serde_json::Error>) -> Error {
    let inner = err.inner();
    if inner.is_syntax() || inner.is_eof() {
        return Error::malformed_body(inner);
    }
    let path = err.path().to_string();
    let message = inner.to_string();
    let message = match message.find(" at line ") {
        Some(cut) => &message[..cut],
        None => message.as_str(),
    };
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let name = rest.split('`').next().unwrap_or_default();
        return Error::validation(
            format!("Unknown property {name}"),
            serde_json::json!({ "unknown": [name] }),
        );
    }
    Error::validation(
        format!("Invalid property {path}: {message}"),
        serde_json::json!({ "invalid": [{ path: message }] }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(body: &str) -> Result<OpportunityWrite, Error> {
        OpportunityWrite::from_body(body.as_bytes(), true)
    }

    #[test]
    fn accepts_sdk_floats_and_keeps_decimals_exact() {
        let w = check(r#"{"title":"Deal","monetary_amount":75000.0,"win_probability":50.0,"close_date":"2020-10-30"}"#)
            .unwrap();
        assert_eq!(w.fields["monetary_amount"].to_string(), "75000.0");
        let w = check(r#"{"title":"Deal","monetary_amount":12345678901234567.89}"#).unwrap();
        assert_eq!(
            w.fields["monetary_amount"].to_string(),
            "12345678901234567.89"
        );
    }

    #[test]
    fn decimals_are_plain_and_within_what_a_crm_stores() {
        let w =
            check(r#"{"title":"Deal","monetary_amount":1E2,"win_probability":1.50E1}"#).unwrap();
        assert_eq!(w.fields["monetary_amount"].to_string(), "100");
        assert_eq!(w.fields["win_probability"].to_string(), "15.0");
        for amount in ["1e400", "1234567890123456789", "0.12345678901"] {
            let body = format!(r#"{{"title":"Deal","monetary_amount":{amount}}}"#);
            let err = check(&body).unwrap_err();
            assert_eq!(err.type_name(), "RequestValidationError", "{amount}");
            assert!(
                err.message()
                    .starts_with("Invalid property monetary_amount: "),
                "{amount}: {}",
                err.message()
            );
            assert!(
                err.detail()["invalid"][0]["monetary_amount"].is_string(),
                "{amount}"
            );
        }
    }

    #[test]
    fn unknown_property_is_named() {
        let err = check(r#"{"title":"Deal","foobar":1}"#).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError");
        assert_eq!(err.message(), "Unknown property foobar");
    }

    #[test]
    fn wrong_type_names_field_and_expected_type() {
        let err = check(r#"{"title":"Deal","monetary_amount":"lots"}"#).unwrap_err();
        assert!(
            err.message()
                .starts_with("Invalid property monetary_amount"),
            "{}",
            err.message()
        );
        assert!(
            err.message().contains("expected a JSON number"),
            "{}",
            err.message()
        );
        let err = check(r#"{"title":"Deal","close_date":"30/10/2020"}"#).unwrap_err();
        assert!(err.message().contains("close_date"), "{}", err.message());
        let err = check(r#"{"title":"Deal","currency":"EURO"}"#).unwrap_err();
        assert!(err.message().contains("currency"), "{}", err.message());
        let err = check(r#"{"title":"Deal","contact_ids":["1",2]}"#).unwrap_err();
        assert!(
            err.message().contains("contact_ids[1]"),
            "{}",
            err.message()
        );
    }

    #[test]
    fn read_only_properties_are_ignored_and_null_is_kept() {
        let w = check(r#"{"title":"Deal","id":"9","created_at":"x","description":null}"#).unwrap();
        assert_eq!(
            w.fields.keys().collect::<Vec<_>>(),
            ["description", "title"],
            "read-only fields dropped, explicit null kept"
        );
    }

    #[test]
    fn percentages_are_checked_exactly_and_enums_take_one_spelling() {
        assert!(check(r#"{"title":"D","win_probability":100.0}"#).is_ok());
        assert!(check(r#"{"title":"D","win_probability":0}"#).is_ok());
        let err = check(r#"{"title":"D","win_probability":100.0000000001}"#).unwrap_err();
        assert_eq!(
            err.message(),
            "Invalid property win_probability: must be from 0 to 100, got 100.0000000001"
        );
        assert!(check(r#"{"title":"D","win_probability":1e300}"#).is_err());
        let w = check(r#"{"title":"D","status":"LOST","priority":"none"}"#).unwrap();
        assert_eq!(w.fields["status"], "Lost");
        assert_eq!(w.fields["priority"], "None");
        let w = check(r#"{"title":"D","status":null,"contact_id":"5","primary_contact_id":"5"}"#)
            .unwrap();
        assert!(
            w.fields["status"].is_null(),
            "null clears and is not checked"
        );
    }

    #[test]
    fn title_is_required_on_create_only() {
        let err = check(r#"{"description":"x"}"#).unwrap_err();
        assert_eq!(err.message(), "Missing property title");
        assert!(OpportunityWrite::from_body(br#"{"description":"x"}"#, false).is_ok());
    }

    #[test]
    fn malformed_json_and_non_objects_are_clear_400s() {
        let err = check(r#"{"title":"Deal""#).unwrap_err();
        assert_eq!(err.status().as_u16(), 400);
        assert!(
            err.message().contains("not valid JSON"),
            "{}",
            err.message()
        );
        let err = check(r#"[1,2]"#).unwrap_err();
        assert_eq!(err.message(), "The body must be a JSON object");
    }
}
