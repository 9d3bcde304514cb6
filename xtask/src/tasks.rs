//! One module per task.

pub(crate) mod bench;
pub(crate) mod browser_unit;
pub(crate) mod demo;
pub(crate) mod dist;
pub(crate) mod e2e;
pub(crate) mod engine_e2e;
pub(crate) mod interop;
pub(crate) mod relay;
pub(crate) mod release;
pub(crate) mod test;
pub(crate) mod types;
pub(crate) mod verify;
pub(crate) mod worker;
