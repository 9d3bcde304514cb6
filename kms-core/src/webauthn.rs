//! Placeholder.

/// Placeholder.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Credential {
    /// Placeholder.
    pub id: Vec<u8>,
}
