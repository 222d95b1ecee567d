//! HubSpot's fixed facts that its manifest does not hold yet.

/// The associations read with every deal, so contact and company ids map without extra calls.
pub const ASSOCIATIONS: &str = "contacts,companies";
