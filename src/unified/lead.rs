//! The unified `Lead`, exactly as Apideck's `crm.yml` names and types it: the one place its
//! fields are declared.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{
    Currency, CustomFields, CustomMappings, DateTime, Decimal, Id, Items, String, StringList, Title,
};
use super::items::{ADDRESS, EMAIL, PHONE_NUMBER, SOCIAL_LINK, WEBSITE};
use super::{FilterKind, ResourceModel, field};

/// Leads as a unified resource.
pub static LEADS: ResourceModel = ResourceModel {
    resource: Resource::Leads,
    schema_name: "Lead",
    plural_name: "Leads",
    description: "The unified lead, as in Apideck's `crm.yml`. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "Unique identifier for the lead.").read_only(),
        field("name", Title, "Full name of the lead.").required(),
        field(
            "company_name",
            String,
            "The name of the company the lead is associated with.",
        ),
        field("owner_id", Id, "The owner of the lead."),
        field("owner_name", String, "The name of the owner of the lead."),
        field("company_id", Id, "The company the lead is associated with."),
        field("contact_id", Id, "The contact the lead is associated with."),
        field("lead_id", Id, "The identifier of the lead."),
        field("lead_source", String, "The source of the lead."),
        field("first_name", String, "The first name of the lead."),
        field("last_name", String, "The last name of the lead."),
        field("description", String, "The description of the lead."),
        field("prefix", String, "The prefix of the lead."),
        field("title", String, "The job title of the lead."),
        field("language", String, "Language code according to ISO 639-1."),
        field("status", String, "The status of the lead."),
        field(
            "monetary_amount",
            Decimal,
            "The monetary amount of the lead.",
        ),
        field("currency", Currency, "The currency of the lead's amount."),
        field("fax", String, "The fax number of the lead."),
        field("websites", Items(&WEBSITE), "The lead's websites."),
        field("addresses", Items(&ADDRESS), "The lead's addresses."),
        field(
            "social_links",
            Items(&SOCIAL_LINK),
            "The lead's social links.",
        ),
        field(
            "phone_numbers",
            Items(&PHONE_NUMBER),
            "The lead's phone numbers.",
        ),
        field("emails", Items(&EMAIL), "The lead's email addresses."),
        field(
            "custom_fields",
            CustomFields,
            "The CRM's own fields of the lead, with their names.",
        ),
        field("tags", StringList, "The lead's tags."),
        field(
            "custom_mappings",
            CustomMappings,
            "The tenant's custom mappings of the lead, by key.",
        )
        .read_only(),
        field("updated_at", DateTime, "Last update date.").read_only(),
        field("created_at", DateTime, "Creation date.").read_only(),
    ],
    filters: &[
        ("name", FilterKind::String),
        ("first_name", FilterKind::String),
        ("last_name", FilterKind::String),
        ("email", FilterKind::String),
        ("phone_number", FilterKind::String),
    ],
    sorts: &[
        "created_at",
        "updated_at",
        "name",
        "first_name",
        "last_name",
        "email",
    ],
    synonyms: &[],
};
