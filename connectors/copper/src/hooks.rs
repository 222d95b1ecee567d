//! What Copper needs that no mapping table can express: nothing yet. Copper's fields are the
//! closest to the unified model; custom fields (named by `/custom_field_definitions`) are the
//! next thing that will need a hook.

use crmgate_connector_sdk::WriteHook;

/// The hooks Copper's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[];
