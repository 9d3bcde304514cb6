//! One module per task.

pub(crate) mod bench;
pub(crate) mod demo;
pub(crate) mod interop;
pub(crate) mod relay;
pub(crate) mod test;
