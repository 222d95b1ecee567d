//! What Pipedrive needs that no mapping table can express: nothing yet. Pipedrive's deal fields
//! map one to one; custom fields (40-character keys named in `dealFields`) are the next thing
//! that will need a hook.

use crmgate_connector_sdk::WriteHook;

/// The hooks Pipedrive's mapping tables may name.
pub const WRITE_HOOKS: &[WriteHook] = &[];
