//! Helpers for the fault-matrix test: an in-process fake homeserver with switchable faults
//! (`fake_target`) and the tiny PNG encoder its thumbnails use (`png`).

pub mod fake_target;
pub mod png;
