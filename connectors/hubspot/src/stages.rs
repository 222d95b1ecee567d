//! Writing a deal's `status`. HubSpot derives a deal's won or lost state from its stage, so a
//! unified status is written by moving the deal to a stage of its pipeline that has it: the
//! first closed stage with probability 1 for Won, 0 for Lost, and for Open the first open
//! stage, unless the deal already is in one. The table writes the wanted status under
//! `stage_status`; the connector reads the pipeline's stages and sets `properties.dealstage`.

use crmgate_connector_sdk::{
    CallContext, ConnectorError, ErrorKind, Result, VendorErrors, VendorRequest,
};
use http::Method;
use serde::Deserialize;
use serde_json::{Map, Value};

use crate::config::DEAL_PIPELINES;

/// A stage of a deal pipeline, as `GET /crm/pipelines/2026-09/deals/{id}` answers it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Stage {
    id: String,
    display_order: i64,
    #[serde(default)]
    metadata: StageMetadata,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StageMetadata {
    #[serde(default)]
    is_closed: Option<String>,
    #[serde(default)]
    probability: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Pipeline {
    stages: Vec<Stage>,
}

/// The deal's properties an update reads to place the status.
#[derive(Debug, Deserialize)]
struct Deal {
    properties: DealStage,
}

#[derive(Debug, Deserialize)]
struct DealStage {
    pipeline: Option<String>,
    dealstage: Option<String>,
}

impl Stage {
    /// The unified status a deal in this stage has.
    fn status(&self) -> &'static str {
        let closed = self.metadata.is_closed.as_deref() == Some("true");
        let probability: f64 = self
            .metadata
            .probability
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0.0);
        match (closed, probability >= 1.0) {
            (false, _) => "Open",
            (true, true) => "Won",
            (true, false) => "Lost",
        }
    }
}

/// Turns a written `status` into the stage that has it. `id` is the deal's on update, whose
/// pipeline and stage are read when the body does not say them.
pub async fn place(
    cx: &CallContext,
    errors: &dyn VendorErrors,
    body: &mut Value,
    id: Option<&str>,
) -> Result<()> {
    let Some(map) = body.as_object_mut() else {
        return Ok(());
    };
    let Some(status) = map.remove("stage_status") else {
        return Ok(());
    };
    let Some(status) = status.as_str().filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let properties = map
        .entry("properties")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(properties) = properties.as_object_mut() else {
        return Ok(());
    };
    let text = |key: &str| {
        properties
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    let (mut pipeline, given) = (text("pipeline"), text("dealstage"));
    let mut current = None;
    // The deal is read for what the body does not say: its pipeline, and its stage when no
    // stage is given (an Open deal stays where it is).
    if let Some(id) = id
        && (pipeline.is_none() || given.is_none())
    {
        let mut url = cx.url(&format!("/crm/objects/2026-09/deals/{id}"));
        url.query_pairs_mut()
            .append_pair("properties", "pipeline,dealstage");
        let response = cx
            .http
            .send(VendorRequest::new(Method::GET, url), errors)
            .await?;
        let deal: Deal = serde_json::from_slice(&response.body)
            .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?;
        pipeline = pipeline.or(deal.properties.pipeline);
        current = deal.properties.dealstage;
    }
    let pipeline = pipeline.unwrap_or_else(|| "default".to_owned());
    let url = cx.url(&format!("{DEAL_PIPELINES}/{pipeline}"));
    let response = cx
        .http
        .send(VendorRequest::new(Method::GET, url), errors)
        .await?;
    let mut stages = serde_json::from_slice::<Pipeline>(&response.body)
        .map_err(|e| ConnectorError::bad_response(response.status.as_u16(), e))?
        .stages;
    stages.sort_by_key(|s| s.display_order);
    let has = |id: &str| stages.iter().find(|s| s.id == id);
    let stage = match (given, current) {
        (Some(given), _) => match has(&given) {
            Some(stage) if stage.status() == status => return Ok(()),
            Some(stage) => {
                return Err(refused(format!(
                    "stage {given:?} is one where deals are {}, not {status}",
                    stage.status()
                )));
            }
            None => return Ok(()),
        },
        (None, Some(current)) if has(&current).is_some_and(|s| s.status() == status) => {
            return Ok(());
        }
        _ => stages
            .iter()
            .find(|s| s.status() == status)
            .ok_or_else(|| {
                refused(format!(
                    "the deal pipeline {pipeline:?} has no stage where deals are {status}"
                ))
            })?,
    };
    properties.insert("dealstage".to_owned(), Value::String(stage.id.clone()));
    Ok(())
}

fn refused(message: String) -> ConnectorError {
    ConnectorError::new(ErrorKind::Unsupported, message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(closed: &str, probability: &str) -> Stage {
        Stage {
            id: "s".into(),
            display_order: 0,
            metadata: StageMetadata {
                is_closed: Some(closed.into()),
                probability: Some(probability.into()),
            },
        }
    }

    #[test]
    fn a_stage_says_its_status_by_its_metadata() {
        assert_eq!(stage("false", "0.2").status(), "Open");
        assert_eq!(stage("true", "1.0").status(), "Won");
        assert_eq!(stage("true", "1").status(), "Won");
        assert_eq!(stage("true", "0.0").status(), "Lost");
    }
}
