//! The unified `Company`, exactly as Apideck's `crm.yml` names and types it: the one place its
//! fields are declared.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{
    Bool, Currency, CustomFields, CustomMappings, Date, DateTime, Id, Integer, Items, Object,
    String, StringList,
};
use super::items::{ADDRESS, BANK_ACCOUNT, EMAIL, PHONE_NUMBER, ROW_TYPE, SOCIAL_LINK, WEBSITE};
use super::{FilterKind, ResourceModel, field};

/// Companies as a unified resource.
pub static COMPANIES: ResourceModel = ResourceModel {
    resource: Resource::Companies,
    schema_name: "Company",
    plural_name: "Companies",
    description: "The unified company, as in Apideck's `crm.yml`. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "Unique identifier for the company.").read_only(),
        field("name", String, "Name of the company.").required(),
        field("interaction_count", Integer, "Number of interactions.").read_only(),
        field("owner_id", Id, "Owner ID."),
        field("image", String, "The image URL of the company."),
        field("description", String, "A description of the company."),
        field("vat_number", String, "The VAT number of the company."),
        field("currency", Currency, "The currency of the company."),
        field("status", String, "The status of the company."),
        field("fax", String, "The fax number of the company."),
        field(
            "annual_revenue",
            String,
            "The annual revenue of the company.",
        ),
        field("number_of_employees", String, "Number of employees."),
        field("industry", String, "The industry the company is in."),
        field("ownership", String, "The type of ownership of the company."),
        field(
            "sales_tax_number",
            String,
            "The company's sales tax number.",
        ),
        field("payee_number", String, "The company's payee number."),
        field(
            "abn_or_tfn",
            String,
            "An Australian Business Number or Tax File Number.",
        ),
        field("abn_branch", String, "An ABN branch (GST branch)."),
        field("acn", String, "The Australian Company Number."),
        field("first_name", String, "The first name of the person."),
        field("last_name", String, "The last name of the person."),
        field("parent_id", Id, "Parent ID.").read_only(),
        field(
            "bank_accounts",
            Items(&BANK_ACCOUNT),
            "The company's bank accounts.",
        ),
        field("websites", Items(&WEBSITE), "The company's websites."),
        field("addresses", Items(&ADDRESS), "The company's addresses."),
        field(
            "social_links",
            Items(&SOCIAL_LINK),
            "The company's social links.",
        ),
        field(
            "phone_numbers",
            Items(&PHONE_NUMBER),
            "The company's phone numbers.",
        ),
        field("emails", Items(&EMAIL), "The company's email addresses."),
        field("row_type", Object(&ROW_TYPE), "The company's row type."),
        field(
            "custom_fields",
            CustomFields,
            "The CRM's own fields of the company, with their names.",
        ),
        field("tags", StringList, "The company's tags."),
        field("read_only", Bool, "Whether the company is read-only."),
        field("last_activity_at", DateTime, "Last activity date.").read_only(),
        field("deleted", Bool, "Whether the company is deleted.").read_only(),
        field("salutation", String, "A formal salutation for the person."),
        field("birthday", Date, "The date of birth of the person."),
        field(
            "custom_mappings",
            CustomMappings,
            "The tenant's custom mappings of the company, by key.",
        )
        .read_only(),
        field("updated_by", Id, "Updated by user ID.").read_only(),
        field("created_by", Id, "Created by user ID.").read_only(),
        field("updated_at", DateTime, "Last updated date.").read_only(),
        field("created_at", DateTime, "Creation date.").read_only(),
    ],
    filters: &[
        ("name", FilterKind::String),
        ("updated_since", FilterKind::Since),
        ("created_since", FilterKind::Since),
    ],
    sorts: &["created_at", "updated_at", "name"],
    synonyms: &[],
};
