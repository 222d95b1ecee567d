//! The unified `Pipeline`, exactly as Apideck's `crm.yml` names and types it: the one place its
//! fields are declared. Pipelines and their stages give an opportunity's `pipeline_id` and
//! `pipeline_stage_id` their names; crmgate reads them.

use crmgate_connector_sdk::Resource;

use super::FieldKind::{Bool, Currency, DateTime, Id, Integer, Items, String};
use super::{ItemModel, ResourceModel, field};

/// Apideck's pipeline stage, an item of `stages`.
pub static PIPELINE_STAGE: ItemModel = ItemModel {
    schema_name: "PipelineStage",
    fields: &[
        field("id", Id, "The unique identifier of the pipeline stage."),
        field("name", String, "The name of the pipeline stage."),
        field("value", String, "The value of the pipeline stage."),
        field(
            "win_probability",
            Integer,
            "The expected probability of winning an opportunity in this stage, 0-100.",
        ),
        field(
            "display_order",
            Integer,
            "The order in which the stage is displayed.",
        ),
        field("archived", Bool, "Whether the stage is archived."),
        field("created_at", DateTime, "When the stage was created."),
        field("updated_at", DateTime, "When the stage was last updated."),
    ],
    key: None,
};

/// Pipelines as a unified resource.
pub static PIPELINES: ResourceModel = ResourceModel {
    resource: Resource::Pipelines,
    schema_name: "Pipeline",
    plural_name: "Pipelines",
    description: "The unified pipeline, as in Apideck's `crm.yml`: the stages an opportunity moves through. Read-only properties appear in answers and are ignored in write bodies.",
    fields: &[
        field("id", Id, "The unique identifier of the pipeline.").read_only(),
        field("name", String, "The name of the pipeline.").required(),
        field("currency", Currency, "The currency of the pipeline."),
        field("archived", Bool, "Whether the pipeline is archived."),
        field("active", Bool, "Whether the pipeline is active."),
        field(
            "display_order",
            Integer,
            "The order in which the pipeline is displayed.",
        ),
        field(
            "win_probability_enabled",
            Bool,
            "Whether the pipeline's stages carry win probabilities.",
        ),
        field(
            "stages",
            Items(&PIPELINE_STAGE),
            "The pipeline's stages, in order.",
        ),
        field(
            "updated_at",
            DateTime,
            "When the pipeline was last updated.",
        )
        .read_only(),
        field("created_at", DateTime, "When the pipeline was created.").read_only(),
    ],
    filters: &[],
    sorts: &[],
    synonyms: &[],
};
