//! The unified `Note`, exactly as Apideck's `crm.yml` names and types it: the one place its
//! fields are declared.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{Bool, CustomMappings, DateTime, Id, String};
use super::{FilterKind, ResourceModel, field};

/// Notes as a unified resource.
pub static NOTES: ResourceModel = ResourceModel {
    resource: Resource::Notes,
    schema_name: "Note",
    plural_name: "Notes",
    description: "The unified note, as in Apideck's `crm.yml`. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "The unique identifier of the note.").read_only(),
        field("title", String, "The title of the note."),
        field("content", String, "The content of the note."),
        field("owner_id", Id, "The user that owns the note."),
        field("contact_id", Id, "The contact that is related to the note."),
        field("company_id", Id, "The company that is related to the note."),
        field(
            "opportunity_id",
            Id,
            "The opportunity that is related to the note.",
        ),
        field(
            "activity_id",
            Id,
            "The activity that is related to the note.",
        ),
        field("lead_id", Id, "The lead that is related to the note."),
        field("active", Bool, "Whether the note is active or not."),
        field(
            "custom_mappings",
            CustomMappings,
            "The tenant's custom mappings of the note, by key.",
        )
        .read_only(),
        field("updated_by", Id, "The user that last updated the note.").read_only(),
        field("created_by", Id, "The user that created the note.").read_only(),
        field(
            "updated_at",
            DateTime,
            "The timestamp when the note was last updated.",
        )
        .read_only(),
        field(
            "created_at",
            DateTime,
            "The timestamp when the note was created.",
        )
        .read_only(),
    ],
    filters: &[
        ("title", FilterKind::String),
        ("owner_id", FilterKind::String),
        ("updated_since", FilterKind::Since),
        ("created_since", FilterKind::Since),
    ],
    sorts: &[],
    synonyms: &[],
};
