//! The unified `Contact`, exactly as Apideck's `crm.yml` names and types it: the one place its
//! fields are declared.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{
    Bool, CustomFields, CustomMappings, Date, DateTime, Decimal, Id, IdList, Items, String,
    StringList,
};
use super::items::{ADDRESS, EMAIL, PHONE_NUMBER, SOCIAL_LINK, WEBSITE};
use super::{FilterKind, ResourceModel, field};

/// Contacts as a unified resource.
pub static CONTACTS: ResourceModel = ResourceModel {
    resource: Resource::Contacts,
    schema_name: "Contact",
    plural_name: "Contacts",
    description: "The unified contact, as in Apideck's `crm.yml`. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "Unique identifier for the contact.").read_only(),
        field("name", String, "Full name of the contact."),
        field("owner_id", Id, "The owner of the contact."),
        field("type", String, "The type of the contact.")
            .one_of(&["customer", "supplier", "employee", "personal"]),
        field(
            "company_id",
            Id,
            "The company the contact is associated with.",
        ),
        field(
            "company_name",
            String,
            "The name of the company the contact is associated with.",
        ),
        field("lead_id", Id, "The lead the contact is associated with."),
        field("first_name", String, "The first name of the contact."),
        field("middle_name", String, "The middle name of the contact."),
        field("last_name", String, "The last name of the contact."),
        field("prefix", String, "The prefix of the contact."),
        field("suffix", String, "The suffix of the contact."),
        field("title", String, "The job title of the contact."),
        field("department", String, "The department of the contact."),
        field("language", String, "Language code according to ISO 639-1."),
        field("gender", String, "The gender of the contact.").one_of(&["male", "female", "unisex"]),
        field("birthday", Date, "The birthday of the contact."),
        field("image", String, "Deprecated: use photo_url."),
        field("photo_url", String, "The URL of the photo of a person."),
        field("lead_source", String, "The lead source of the contact."),
        field("fax", String, "The fax number of the contact."),
        field("description", String, "The description of the contact."),
        field(
            "current_balance",
            Decimal,
            "The current balance of the contact.",
        ),
        field("status", String, "The status of the contact."),
        field("active", Bool, "The active status of the contact."),
        field("websites", Items(&WEBSITE), "The contact's websites."),
        field("addresses", Items(&ADDRESS), "The contact's addresses."),
        field(
            "social_links",
            Items(&SOCIAL_LINK),
            "The contact's social links.",
        ),
        field(
            "phone_numbers",
            Items(&PHONE_NUMBER),
            "The contact's phone numbers.",
        ),
        field("emails", Items(&EMAIL), "The contact's email addresses."),
        field("email_domain", String, "The domain of the contact's email."),
        field(
            "custom_fields",
            CustomFields,
            "The CRM's own fields of the contact, with their names.",
        ),
        field("tags", StringList, "The contact's tags."),
        field(
            "first_call_at",
            DateTime,
            "The first call date of the contact.",
        )
        .read_only(),
        field(
            "first_email_at",
            DateTime,
            "The first email date of the contact.",
        )
        .read_only(),
        field(
            "last_activity_at",
            DateTime,
            "The last activity date of the contact.",
        )
        .read_only(),
        field(
            "custom_mappings",
            CustomMappings,
            "The tenant's custom mappings of the contact, by key.",
        )
        .read_only(),
        field(
            "updated_at",
            DateTime,
            "The last update date of the contact.",
        )
        .read_only(),
        field("created_at", DateTime, "The creation date of the contact.").read_only(),
        field(
            "opportunity_ids",
            IdList,
            "The opportunity ids of the contact.",
        ),
    ],
    filters: &[
        ("name", FilterKind::String),
        ("first_name", FilterKind::String),
        ("last_name", FilterKind::String),
        ("email", FilterKind::String),
        ("phone_number", FilterKind::String),
        ("company_id", FilterKind::String),
        ("owner_id", FilterKind::String),
        ("updated_since", FilterKind::Since),
        ("created_since", FilterKind::Since),
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
