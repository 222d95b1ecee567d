//! The unified `User`, exactly as Apideck's `crm.yml` names and types it: the one place its
//! fields are declared. CRM users are the owners behind every `owner_id`; crmgate reads them.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{CustomMappings, DateTime, Id, Items, String};
use super::items::{ADDRESS, EMAIL, PHONE_NUMBER};
use super::{FilterKind, ResourceModel, field};

/// Users as a unified resource.
pub static USERS: ResourceModel = ResourceModel {
    resource: Resource::Users,
    schema_name: "User",
    plural_name: "Users",
    description: "The unified user, as in Apideck's `crm.yml`: the people who own records in the CRM. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "The unique identifier for the user.").read_only(),
        field("parent_id", Id, "The parent user id."),
        field("username", String, "The username of the user."),
        field("name", String, "The name of the user."),
        field("first_name", String, "The first name of the person."),
        field("last_name", String, "The last name of the person."),
        field("title", String, "The job title of the person."),
        field("division", String, "The division the person is in."),
        field("department", String, "The department the person is in."),
        field("company_name", String, "The name of the company."),
        field("employee_number", String, "The user's employee number."),
        field("description", String, "A description of the user."),
        field("image", String, "The URL of the user's avatar."),
        field("language", String, "Language code according to ISO 639-1."),
        field("status", String, "The status of the user."),
        field("addresses", Items(&ADDRESS), "The user's addresses."),
        field(
            "phone_numbers",
            Items(&PHONE_NUMBER),
            "The user's phone numbers.",
        ),
        field("emails", Items(&EMAIL), "The user's email addresses.").required(),
        field(
            "custom_mappings",
            CustomMappings,
            "The tenant's custom mappings of the user, by key.",
        )
        .read_only(),
        field(
            "updated_at",
            DateTime,
            "The date and time when the user was last updated.",
        )
        .read_only(),
        field(
            "created_at",
            DateTime,
            "The date and time when the user was created.",
        )
        .read_only(),
    ],
    filters: &[("email", FilterKind::String), ("name", FilterKind::String)],
    sorts: &[],
    synonyms: &[],
};
