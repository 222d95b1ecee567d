//! The unified `Activity`, exactly as Apideck's `crm.yml` names and types it: the one place its
//! fields are declared.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{
    Bool, CustomFields, CustomMappings, Date, DateTime, Id, Integer, Items, Object, String,
};
use super::items::{ACTIVITY_ATTENDEE, ADDRESS};
use super::{FilterKind, ResourceModel, field};

/// The kinds of activity the contract names.
const TYPES: &[&str] = &[
    "call",
    "meeting",
    "email",
    "note",
    "task",
    "deadline",
    "send-letter",
    "send-quote",
    "other",
];

/// Activities as a unified resource.
pub static ACTIVITIES: ResourceModel = ResourceModel {
    resource: Resource::Activities,
    schema_name: "Activity",
    plural_name: "Activities",
    description: "The unified activity, as in Apideck's `crm.yml`. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "The unique identifier of the activity.").read_only(),
        field(
            "downstream_id",
            Id,
            "The third-party API ID of the original entity.",
        )
        .read_only(),
        field(
            "activity_datetime",
            DateTime,
            "The date and time of the activity.",
        ),
        field(
            "duration_seconds",
            Integer,
            "The duration of the activity in seconds.",
        ),
        field("user_id", Id, "The user related to the activity."),
        field("account_id", Id, "The account related to the activity."),
        field("contact_id", Id, "The contact related to the activity."),
        field("company_id", Id, "The company related to the activity."),
        field(
            "opportunity_id",
            Id,
            "The opportunity related to the activity.",
        ),
        field("lead_id", Id, "The lead related to the activity."),
        field("owner_id", Id, "The owner of the activity."),
        field("campaign_id", Id, "The campaign related to the activity."),
        field("case_id", Id, "The case related to the activity."),
        field("asset_id", Id, "The asset related to the activity."),
        field("contract_id", Id, "The contract related to the activity."),
        field("product_id", Id, "The product related to the activity."),
        field("solution_id", Id, "The solution related to the activity."),
        field(
            "custom_object_id",
            Id,
            "The custom object related to the activity.",
        ),
        field("type", String, "The type of the activity.")
            .required()
            .one_of(TYPES),
        field("title", String, "The title of the activity."),
        field("description", String, "A description of the activity."),
        field("note", String, "An internal note about the activity."),
        field("location", String, "The location of the activity."),
        field(
            "location_address",
            Object(&ADDRESS),
            "The address of the activity's location.",
        ),
        field("all_day_event", Bool, "Whether the activity lasts all day."),
        field("private", Bool, "Whether the activity is private."),
        field(
            "group_event",
            Bool,
            "Whether the activity is a group event.",
        ),
        field("event_sub_type", String, "The sub-type of the group event."),
        field("group_event_type", String, "The type of the group event."),
        field("child", Bool, "Whether the activity is a child of another."),
        field("archived", Bool, "Whether the activity is archived."),
        field("deleted", Bool, "Whether the activity is deleted."),
        field(
            "show_as",
            String,
            "How the activity shows in a calendar: free or busy.",
        )
        .one_of(&["free", "busy"]),
        field("done", Bool, "Whether the activity is done."),
        field("start_datetime", DateTime, "The start of the activity."),
        field("end_datetime", DateTime, "The end of the activity."),
        field(
            "duration_minutes",
            Integer,
            "The duration of the activity in minutes.",
        )
        .read_only(),
        field("activity_date", Date, "The date of the activity."),
        field("end_date", Date, "The end date of the activity."),
        field("recurrent", Bool, "Whether the activity recurs."),
        field(
            "reminder_datetime",
            DateTime,
            "When a reminder of the activity is due.",
        ),
        field(
            "reminder_set",
            Bool,
            "Whether a reminder is set for the activity.",
        ),
        field(
            "video_conference_url",
            String,
            "The URL of the activity's video conference.",
        ),
        field(
            "video_conference_id",
            String,
            "The identifier of the activity's video conference.",
        ),
        field(
            "custom_fields",
            CustomFields,
            "The CRM's own fields of the activity, with their names.",
        ),
        field(
            "attendees",
            Items(&ACTIVITY_ATTENDEE),
            "The people who attend the activity.",
        ),
        field(
            "custom_mappings",
            CustomMappings,
            "The tenant's custom mappings of the activity, by key.",
        )
        .read_only(),
        field("updated_by", Id, "The user that last updated the activity.").read_only(),
        field("created_by", Id, "The user that created the activity.").read_only(),
        field("updated_at", DateTime, "Last update date.").read_only(),
        field("created_at", DateTime, "Creation date.").read_only(),
    ],
    filters: &[
        ("company_id", FilterKind::String),
        ("owner_id", FilterKind::String),
        ("contact_id", FilterKind::String),
        ("updated_since", FilterKind::Since),
        ("type", FilterKind::String),
    ],
    sorts: &["created_at", "updated_at"],
    synonyms: &[],
};
