//! The unified `Opportunity`, exactly as Apideck's `crm.yml` names and types it: the one place
//! its fields are declared.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{
    Bool, Currency, CustomFields, CustomMappings, Date, DateTime, Decimal, Id, IdList, String,
    StringList, Title,
};
use super::{FilterKind, ResourceModel, Synonym, field};

/// Opportunities as a unified resource.
pub static OPPORTUNITIES: ResourceModel = ResourceModel {
    resource: Resource::Opportunities,
    schema_name: "Opportunity",
    plural_name: "Opportunities",
    description: "The unified opportunity, as in Apideck's `crm.yml`. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "A unique identifier for the opportunity.").read_only(),
        field("title", Title, "The title or name of the opportunity.").required(),
        field(
            "primary_contact_id",
            Id,
            "The unique identifier of the primary contact associated with the opportunity.",
        ),
        field("description", String, "A description of the opportunity."),
        field("type", String, "The type of the opportunity."),
        field(
            "monetary_amount",
            Decimal,
            "The monetary value associated with the opportunity.",
        ),
        field(
            "currency",
            Currency,
            "The currency of the opportunity's amounts.",
        ),
        field(
            "win_probability",
            Decimal,
            "The probability of winning the opportunity, expressed as a percentage.",
        )
        .within(0, 100),
        field(
            "expected_revenue",
            Decimal,
            "The expected revenue from the opportunity.",
        )
        .read_only(),
        field(
            "close_date",
            Date,
            "The actual closing date for the opportunity. If close_date is null, the opportunity is not closed yet.",
        ),
        field(
            "loss_reason_id",
            Id,
            "The unique identifier of the reason why the opportunity was lost.",
        ),
        field(
            "loss_reason",
            String,
            "The reason why the opportunity was lost.",
        ),
        field(
            "won_reason_id",
            Id,
            "The unique identifier of the reason why the opportunity was won.",
        ),
        field(
            "won_reason",
            String,
            "The reason why the opportunity was won.",
        ),
        field(
            "pipeline_id",
            Id,
            "The unique identifier of the pipeline associated with the opportunity.",
        ),
        field(
            "pipeline_stage_id",
            Id,
            "The unique identifier of the stage in the pipeline associated with the opportunity.",
        ),
        field(
            "source_id",
            Id,
            "The unique identifier of the source of the opportunity.",
        ),
        field(
            "lead_id",
            Id,
            "The unique identifier of the lead associated with the opportunity.",
        ),
        field(
            "lead_source",
            String,
            "The source of the lead associated with the opportunity.",
        ),
        field(
            "contact_id",
            Id,
            "The unique identifier of the contact associated with the opportunity.",
        ),
        field(
            "contact_ids",
            IdList,
            "An array of unique identifiers of all contacts associated with the opportunity.",
        ),
        field(
            "company_id",
            Id,
            "The unique identifier of the company associated with the opportunity.",
        ),
        field(
            "company_name",
            String,
            "The name of the company associated with the opportunity.",
        ),
        field(
            "owner_id",
            Id,
            "The unique identifier of the user who owns the opportunity.",
        ),
        // The contract types `priority` and `status` as free strings (its examples are `None`
        // and `Open`); crmgate fixes the values every mapping table speaks, so that a typo is a
        // 400 here rather than a vendor error or a silently stored string.
        field("priority", String, "The priority level of the opportunity.")
            .one_of(&["None", "Low", "Medium", "High"]),
        field("status", String, "The current status of the opportunity.").one_of(&[
            "Open",
            "Won",
            "Lost",
            "Abandoned",
        ]),
        field(
            "status_id",
            Id,
            "The unique identifier of the current status of the opportunity.",
        ),
        field("tags", StringList, "The opportunity's tags."),
        field(
            "interaction_count",
            Decimal,
            "The number of interactions with the opportunity.",
        )
        .read_only(),
        field(
            "custom_fields",
            CustomFields,
            "The vendor's fields without a unified equivalent.",
        ),
        field(
            "stage_last_changed_at",
            DateTime,
            "The date and time when the stage of the opportunity was last changed.",
        ),
        field(
            "last_activity_at",
            String,
            "The date and time of the last activity associated with the opportunity.",
        )
        .read_only(),
        field(
            "deleted",
            Bool,
            "Indicates whether the opportunity has been deleted.",
        )
        .read_only(),
        field(
            "date_stage_changed",
            DateTime,
            "The date and time when the stage of the opportunity was last changed.",
        )
        .read_only(),
        field(
            "date_last_contacted",
            DateTime,
            "The date and time when the opportunity was last contacted.",
        )
        .read_only(),
        field(
            "date_lead_created",
            DateTime,
            "The date and time when the lead associated with the opportunity was created.",
        )
        .read_only(),
        field(
            "custom_mappings",
            CustomMappings,
            "The tenant's custom mappings, by key.",
        )
        .read_only(),
        field(
            "updated_by",
            Id,
            "The unique identifier of the user who last updated the opportunity.",
        )
        .read_only(),
        field(
            "created_by",
            Id,
            "The unique identifier of the user who created the opportunity.",
        )
        .read_only(),
        field(
            "updated_at",
            DateTime,
            "The date and time when the opportunity was last updated.",
        )
        .read_only(),
        field(
            "created_at",
            DateTime,
            "The date and time when the opportunity was created.",
        )
        .read_only(),
    ],
    filters: &[
        ("title", FilterKind::String),
        ("status", FilterKind::String),
        ("monetary_amount", FilterKind::Number),
        ("win_probability", FilterKind::Number),
        ("company_id", FilterKind::String),
        ("owner_id", FilterKind::String),
        ("primary_contact_id", FilterKind::String),
    ],
    sorts: &[
        "created_at",
        "updated_at",
        "title",
        "win_probability",
        "monetary_amount",
        "status",
    ],
    synonyms: &[Synonym {
        fields: ("contact_id", "primary_contact_id"),
        names: "the opportunity's primary contact",
    }],
};
