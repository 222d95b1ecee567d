//! Unified `filter[...]` and `sort[...]` → the vendor's filters and sort, as the table declares
//! them. What the table does not declare is refused with the keys it does support.

use crmgate_connector_sdk::{Comparison, SortDirection, VendorFilter, VendorSort};
use serde_json::Value;

use super::compile::{FilterTarget, MappingTable};
use super::transform::decimal_number;
use crate::error::Error;
use crate::unified::{FilterKind, plain_decimal};

impl MappingTable {
    /// Translates the client's filters; every one must be supported, or none is applied. Two
    /// that become one vendor filter (the one parent a Copper activity has) are refused, since
    /// the vendor would keep one of them.
    pub fn vendor_filters(&self, unified: &[(String, String)]) -> Result<Vec<VendorFilter>, Error> {
        let mut out: Vec<VendorFilter> = Vec::with_capacity(unified.len());
        for (key, raw) in unified {
            let Some(rule) = self.filters.iter().find(|r| r.key == key) else {
                let supported: Vec<&str> = self.filters.iter().map(|r| r.key).collect();
                return Err(Error::unsupported_filter(key, &supported));
            };
            let invalid = |problem: String| {
                Error::validation(
                    format!("Invalid query parameter filter[{key}]: {problem}"),
                    serde_json::json!({ "invalid": [{ format!("filter[{key}]"): problem }] }),
                )
            };
            let value = match rule.kind {
                FilterKind::String => Value::String(raw.clone()),
                // In plain notation, as write bodies' decimals are (`1e2` goes on as `100`).
                FilterKind::Number => decimal_number(raw.trim())
                    .ok_or_else(|| invalid(format!("{raw:?} is not a number")))
                    .and_then(|n| plain_decimal(&n.to_string()).map_err(invalid))
                    .map(|plain| {
                        Value::Number(
                            decimal_number(&plain).expect("plain decimal text is a number"),
                        )
                    })?,
                FilterKind::Since => chrono::DateTime::parse_from_rfc3339(raw.trim())
                    .map(|t| {
                        Value::String(
                            t.with_timezone(&chrono::Utc)
                                .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true),
                        )
                    })
                    .map_err(|_| invalid(format!("{raw:?} is not an RFC 3339 timestamp")))?,
            };
            match &rule.target {
                FilterTarget::Field { field, transforms } => {
                    let mut value = value;
                    for t in transforms {
                        value = t.apply(value).map_err(invalid)?;
                    }
                    out.push(VendorFilter {
                        field: field.clone(),
                        value,
                        comparison: if rule.kind == FilterKind::Since {
                            Comparison::AtLeast
                        } else {
                            Comparison::Equals
                        },
                    });
                }
                FilterTarget::Cases(cases) => {
                    let case = cases
                        .iter()
                        .find(|(name, _)| name.eq_ignore_ascii_case(raw))
                        .map(|(_, case)| case)
                        .ok_or_else(|| {
                            invalid(format!(
                                "must be one of {}",
                                cases
                                    .keys()
                                    .map(String::as_str)
                                    .collect::<Vec<_>>()
                                    .join(", ")
                            ))
                        })?;
                    out.push(VendorFilter {
                        field: case.field.clone(),
                        value: case.value.clone(),
                        comparison: Comparison::Equals,
                    });
                }
            }
        }
        // One vendor filter per unified one, in order: `out[i]` is `unified[i]`'s.
        for (at, filter) in out.iter().enumerate() {
            let same =
                |f: &VendorFilter| f.field == filter.field && f.comparison == filter.comparison;
            if let Some(other) = out[..at].iter().position(same) {
                return Err(self.one_vendor_filter(&unified[other].0, &unified[at].0));
            }
        }
        Ok(out)
    }

    fn one_vendor_filter(&self, first: &str, second: &str) -> Error {
        let problem = format!(
            "{} filters by one of filter[{first}] and filter[{second}]",
            self.vendor
        );
        Error::validation(
            format!("Invalid query parameters: {problem}; give one"),
            serde_json::json!({ "invalid": [{ format!("filter[{second}]"): problem }] }),
        )
    }

    /// Translates `sort[by]`; a key the vendor cannot sort on is refused with the ones it can.
    pub fn vendor_sort(&self, by: &str, direction: SortDirection) -> Result<VendorSort, Error> {
        self.sorts
            .iter()
            .find(|(key, _)| *key == by)
            .map(|(_, field)| VendorSort {
                field: field.clone(),
                direction,
            })
            .ok_or_else(|| {
                let supported: Vec<&str> = self.sorts.iter().map(|(k, _)| *k).collect();
                Error::unsupported_sort(by, &supported)
            })
    }
}
