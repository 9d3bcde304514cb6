//! Test vectors from docs/formats/signal.md.
