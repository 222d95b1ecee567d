//! Write bodies (`POST` and `PATCH` of a resource) checked against the resource's model, with
//! precise errors: an unknown property, a wrong type, a missing required field, a value out of
//! its range or its set, two synonyms that differ. Read-only properties are accepted and
//! ignored, as the contract marks them `readOnly` and Apideck's SDKs may echo a record back.

use std::fmt;
use std::str::FromStr;

use rust_decimal::Decimal;
use serde::de::{self, DeserializeSeed, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

use super::{
    Currency, CustomField, FieldDef, FieldKind, ItemModel, PassThrough, ResourceModel, UnifiedDate,
    UnifiedDateTime, UnifiedDecimal,
};
use crate::error::Error;

/// A validated write body: the client's JSON object, with read-only properties removed and
/// `pass_through` split off, so that the mapping sees exactly what the client asked to write —
/// including the difference between an absent property and an explicit `null`.
#[derive(Debug)]
pub struct UnifiedWrite {
    pub fields: Map<String, Value>,
    pub pass_through: Vec<PassThrough>,
}

impl UnifiedWrite {
    /// Validates a request body against `model`. `create` is set for creates, where the
    /// model's required fields must be given.
    pub fn from_body(
        model: &'static ResourceModel,
        body: &[u8],
        create: bool,
    ) -> Result<Self, Error> {
        // serde would also read a map from an array; the contract wants an object.
        if body.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(Error::validation(
                "The body must be a JSON object",
                serde_json::json!({ "body": "expected a JSON object" }),
            ));
        }
        // First pass: every property typed, in the body's order, so the first error is the
        // first wrong property and its path (`contact_ids[1]`) is exact.
        let mut de = serde_json::Deserializer::from_slice(body);
        let mut track = serde_path_to_error::Track::new();
        let typed = Typed::new(model)
            .deserialize(serde_path_to_error::Deserializer::new(&mut de, &mut track))
            .map_err(|e| body_error(&serde_path_to_error::Error::new(track.path(), e)))?;
        de.end().map_err(|e| Error::malformed_body(&e))?;
        if create
            && let Some(missing) = model
                .fields
                .iter()
                .zip(&typed.given)
                .find(|(f, given)| f.required && !**given)
        {
            let name = missing.0.name;
            return Err(Error::validation(
                format!("Missing property {name}"),
                serde_json::json!({ "missing": [{ name: "required" }] }),
            ));
        }
        for field in &typed.custom_fields {
            field.check()?;
        }
        for (def, number) in &typed.decimals {
            if let Some(range) = def.range {
                check_range(def.name, number, range)?;
            }
        }
        // Second pass: the client's JSON as given, for the mapping.
        let mut fields: Map<String, Value> =
            serde_json::from_slice(body).map_err(|e| Error::malformed_body(&e))?;
        for synonym in model.synonyms {
            let (a, b) = synonym.fields;
            // Compared as given: `null` beside an id differs too.
            if let (Some(first), Some(second)) = (fields.get(a), fields.get(b))
                && first != second
            {
                return Err(conflict(a, b, synonym.names));
            }
        }
        for def in model.fields.iter().filter(|f| !f.values.is_empty()) {
            if let Some(Value::String(given)) = fields.get_mut(def.name) {
                *given = one_of(def.name, given, def.values)?.to_owned();
            }
        }
        fields.remove("pass_through");
        fields.retain(|name, _| model.field(name).is_some_and(|f| !f.read_only));
        // Read-only properties of items (an attendee's `contact_id`) are ignored too, as the
        // typed pass ignored them, so that an item read and sent back loses nothing.
        for (name, value) in fields.iter_mut() {
            let item = match model.field(name).map(|f| f.kind) {
                Some(FieldKind::Items(item) | FieldKind::Object(item)) => item,
                _ => continue,
            };
            let items = match value {
                Value::Array(items) => items.iter_mut().collect(),
                one @ Value::Object(_) => vec![one],
                _ => Vec::new(),
            };
            for object in items.into_iter().filter_map(Value::as_object_mut) {
                object.retain(|property, _| {
                    item.fields
                        .iter()
                        .any(|f| f.name == property && !f.read_only)
                });
            }
        }
        // Decimals go on in the plain notation they were checked in, never as the client's
        // exponent form.
        for (def, number) in typed.decimals {
            fields.insert(def.name.to_owned(), Value::Number(number));
        }
        Ok(Self {
            fields,
            pass_through: typed.pass_through.unwrap_or_default(),
        })
    }
}

// === impl Typed ===

/// What the typed pass keeps: which fields were given (and not `null`), the decimals in plain
/// notation, the custom field items and the parsed `pass_through`.
struct Typed {
    model: &'static ResourceModel,
    /// By position in `model.fields`.
    given: Vec<bool>,
    /// By position in `model.fields`, and `pass_through` last.
    seen: Vec<bool>,
    decimals: Vec<(&'static FieldDef, Number)>,
    custom_fields: Vec<CustomField>,
    pass_through: Option<Vec<PassThrough>>,
}

impl Typed {
    fn new(model: &'static ResourceModel) -> Self {
        Self {
            model,
            given: vec![false; model.fields.len()],
            seen: vec![false; model.fields.len() + 1],
            decimals: Vec::new(),
            custom_fields: Vec::new(),
            pass_through: None,
        }
    }

    /// Reads one property's value as its field's kind; `Ok(true)` when it is not `null`.
    fn value<'de, A: MapAccess<'de>>(
        &mut self,
        def: &'static FieldDef,
        map: &mut A,
    ) -> Result<bool, A::Error> {
        if def.read_only {
            map.next_value::<IgnoredAny>()?;
            return Ok(false);
        }
        Ok(match def.kind {
            FieldKind::Id | FieldKind::Title | FieldKind::String => {
                map.next_value::<Option<String>>()?.is_some()
            }
            FieldKind::Decimal => match map.next_value::<Option<UnifiedDecimal>>()? {
                Some(UnifiedDecimal(number)) => {
                    self.decimals.push((def, number));
                    true
                }
                None => false,
            },
            FieldKind::Integer => map.next_value::<Option<i64>>()?.is_some(),
            FieldKind::Currency => map.next_value::<Option<Currency>>()?.is_some(),
            FieldKind::Date => map.next_value::<Option<UnifiedDate>>()?.is_some(),
            FieldKind::DateTime => map.next_value::<Option<UnifiedDateTime>>()?.is_some(),
            FieldKind::Bool => map.next_value::<Option<bool>>()?.is_some(),
            FieldKind::IdList | FieldKind::StringList => {
                map.next_value::<Option<Vec<String>>>()?.is_some()
            }
            FieldKind::CustomFields => match map.next_value::<Option<Vec<CustomField>>>()? {
                Some(items) => {
                    self.custom_fields.extend(items);
                    true
                }
                None => false,
            },
            FieldKind::CustomMappings => map.next_value::<Option<Map<String, Value>>>()?.is_some(),
            FieldKind::Object(item) => map.next_value_seed(Nullable(Item(item)))?,
            FieldKind::Items(item) => map.next_value_seed(Nullable(Items(item)))?,
        })
    }
}

impl<'de> DeserializeSeed<'de> for Typed {
    type Value = Typed;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Typed, D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Typed {
    type Value = Typed;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} object", self.model.schema_name)
    }

    fn visit_map<A: MapAccess<'de>>(mut self, mut map: A) -> Result<Typed, A::Error> {
        while let Some(key) = map.next_key_seed(Property(self.model))? {
            let at = key.unwrap_or(self.model.fields.len());
            if std::mem::replace(&mut self.seen[at], true) {
                let name = self.model.fields.get(at).map_or("pass_through", |f| f.name);
                return Err(de::Error::duplicate_field(name));
            }
            match self.model.fields.get(at) {
                Some(def) => self.given[at] = self.value(def, &mut map)?,
                None => self.pass_through = map.next_value()?,
            }
        }
        Ok(self)
    }
}

/// `null`, or a value of the inner seed; `true` when not `null`.
struct Nullable<S>(S);

impl<'de, S: DeserializeSeed<'de, Value = ()>> DeserializeSeed<'de> for Nullable<S> {
    type Value = bool;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_option(self)
    }
}

impl<'de, S: DeserializeSeed<'de, Value = ()>> Visitor<'de> for Nullable<S> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or null")
    }

    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        self.0.deserialize(deserializer).map(|()| true)
    }
}

/// A list of objects of one item shape (`emails`), each checked as [`Item`].
struct Items(&'static ItemModel);

impl<'de> DeserializeSeed<'de> for Items {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Items {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a list of {} objects", self.0.schema_name)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while seq.next_element_seed(Item(self.0))?.is_some() {}
        Ok(())
    }
}

/// One object of an item shape: only its properties, each a string (or a currency code or a
/// boolean, as its kind says) or `null`, read-only ones ignored, so that an item the vendor could not take is refused with its path
/// (`emails[1].adress`) rather than dropped.
struct Item(&'static ItemModel);

impl<'de> DeserializeSeed<'de> for Item {
    type Value = ();

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Item {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "a {} object", self.0.schema_name)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        let mut seen = vec![false; self.0.fields.len()];
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            let Some(at) = self.0.fields.iter().position(|f| f.name == key) else {
                return Err(de::Error::unknown_field(&key, &[]));
            };
            if std::mem::replace(&mut seen[at], true) {
                return Err(de::Error::duplicate_field(self.0.fields[at].name));
            }
            let def = &self.0.fields[at];
            match def.kind {
                _ if def.read_only => drop(map.next_value::<IgnoredAny>()?),
                FieldKind::Currency => drop(map.next_value::<Option<Currency>>()?),
                FieldKind::Bool => drop(map.next_value::<Option<bool>>()?),
                _ => drop(map.next_value::<Option<String>>()?),
            }
        }
        Ok(())
    }
}

/// A property name: the position of its field in the model, `None` for `pass_through`, and an
/// error for any other name.
struct Property(&'static ResourceModel);

impl<'de> DeserializeSeed<'de> for Property {
    type Value = Option<usize>;

    fn deserialize<D: de::Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<Option<usize>, D::Error> {
        deserializer.deserialize_identifier(self)
    }
}

impl Visitor<'_> for Property {
    type Value = Option<usize>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a property name")
    }

    fn visit_str<E: de::Error>(self, name: &str) -> Result<Option<usize>, E> {
        if name == "pass_through" {
            return Ok(None);
        }
        match self.0.fields.iter().position(|f| f.name == name) {
            Some(at) => Ok(Some(at)),
            None => Err(E::unknown_field(name, &[])),
        }
    }
}

/// A decimal outside its field's range; checked exactly, as the value is sent with its digits.
fn check_range(name: &str, value: &Number, (min, max): (i64, i64)) -> Result<(), Error> {
    let text = value.to_string();
    let in_range = Decimal::from_str(&text)
        .or_else(|_| Decimal::from_scientific(&text))
        .is_ok_and(|d| (Decimal::from(min)..=Decimal::from(max)).contains(&d));
    if in_range {
        return Ok(());
    }
    let problem = format!("must be from {min} to {max}, got {text}");
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
fn conflict(a: &str, b: &str, names: &str) -> Error {
    Error::validation(
        format!("Properties {a} and {b} differ: both name {names}"),
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
        // A body's own property is named alone; inside a list of objects the path ends at the
        // item, which names the property in full (`emails[0].adress`).
        let name = rest.split('`').next().unwrap_or_default();
        let name = match path.as_str() {
            "." => name.to_owned(),
            top if top == name => name.to_owned(),
            item => format!("{item}.{name}"),
        };
        return Error::validation(
            format!("Unknown property {name}"),
            serde_json::json!({ "unknown": [name] }),
        );
    }
    // Raised for the body's own properties, where the path is the body itself.
    if let Some(rest) = message.strip_prefix("duplicate field `")
        && path == "."
    {
        let name = rest.split('`').next().unwrap_or_default();
        return Error::validation(
            format!("Invalid property {name}: {name} is given more than once"),
            serde_json::json!({ "invalid": [{ name: "is given more than once" }] }),
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
    use crate::unified::{OPPORTUNITIES, Synonym, field};

    fn check(body: &str) -> Result<UnifiedWrite, Error> {
        UnifiedWrite::from_body(&OPPORTUNITIES, body.as_bytes(), true)
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
    fn read_only_item_properties_are_ignored_and_booleans_checked() {
        let body = br#"{"type":"call","attendees":[{"name":"Ada","is_organizer":true,"contact_id":"5","id":"a1"}]}"#;
        let w = UnifiedWrite::from_body(&crate::unified::ACTIVITIES, body, true).unwrap();
        assert_eq!(
            w.fields["attendees"],
            serde_json::json!([{ "name": "Ada", "is_organizer": true }])
        );
        let bad = br#"{"type":"call","attendees":[{"is_organizer":"yes"}]}"#;
        let err = UnifiedWrite::from_body(&crate::unified::ACTIVITIES, bad, true).unwrap_err();
        assert_eq!(err.status().as_u16(), 400, "{}", err.message());
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
        assert!(UnifiedWrite::from_body(&OPPORTUNITIES, br#"{"description":"x"}"#, false).is_ok());
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
    #[test]
    fn a_property_given_twice_is_refused() {
        let err = check(r#"{"title":"a","title":"b"}"#).unwrap_err();
        assert_eq!(err.type_name(), "RequestValidationError");
        assert_eq!(
            err.message(),
            "Invalid property title: title is given more than once"
        );
        assert_eq!(
            err.detail(),
            &serde_json::json!({ "invalid": [{ "title": "is given more than once" }] })
        );
        let err = check(r#"{"title":"a","custom_fields":[{"id":"x","id":"y"}]}"#).unwrap_err();
        assert_eq!(
            err.message(),
            "Invalid property custom_fields[0]: duplicate field `id`"
        );
    }

    /// A resource that exists only here: the validator holds a body to whatever its table says.
    static GADGETS: ResourceModel = ResourceModel {
        resource: crmgate_connector_sdk::Resource::Opportunities,
        schema_name: "Gadget",
        plural_name: "Gadgets",
        description: "A resource of this test.",
        fields: &[
            field("id", FieldKind::Id, "").read_only(),
            field("name", FieldKind::String, "").required(),
            field("colour", FieldKind::String, "").one_of(&["Red", "Blue"]),
            field("weight", FieldKind::Decimal, "").within(1, 5),
            field("active", FieldKind::Bool, ""),
            field("owner_id", FieldKind::Id, ""),
            field("user_id", FieldKind::Id, ""),
        ],
        filters: &[],
        sorts: &[],
        synonyms: &[Synonym {
            fields: ("owner_id", "user_id"),
            names: "the gadget's owner",
        }],
    };

    #[test]
    fn the_table_alone_decides_what_a_body_may_hold() {
        let write = |body: &str, create| UnifiedWrite::from_body(&GADGETS, body.as_bytes(), create);
        let w = write(
            r#"{"name":"G","colour":"blue","weight":2.50,"active":true,"id":"x","pass_through":[{"service_id":"s"}]}"#,
            true,
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&w.fields).unwrap(),
            r#"{"active":true,"colour":"Blue","name":"G","weight":2.50}"#,
            "read-only id dropped, value spelled as the table spells it, digits kept"
        );
        assert_eq!(w.pass_through.len(), 1);
        assert!(write(r#"{"colour":"Red"}"#, false).is_ok());
        for (body, message) in [
            (r#"{"colour":"Red"}"#, "Missing property name"),
            (r#"{"name":null}"#, "Missing property name"),
            (r#"{"name":"G","title":"T"}"#, "Unknown property title"),
            (
                r#"{"name":"G","colour":"Green"}"#,
                r#"Invalid property colour: must be one of Red, Blue, got "Green""#,
            ),
            (
                r#"{"name":"G","weight":6}"#,
                "Invalid property weight: must be from 1 to 5, got 6",
            ),
            (
                r#"{"name":"G","owner_id":"1","user_id":"2"}"#,
                "Properties owner_id and user_id differ: both name the gadget's owner",
            ),
            (
                r#"{"name":"G","active":"yes"}"#,
                r#"Invalid property active: invalid type: string "yes", expected a boolean"#,
            ),
        ] {
            let err = write(body, true).unwrap_err();
            assert_eq!(err.type_name(), "RequestValidationError", "{body}");
            assert_eq!(err.message(), message, "{body}");
        }
    }
}
