//! Reports fed by run events and verdicts: colored human output with progress, JUnit XML and
//! JSON. Every text they write passes through the redactor.

pub mod human;
pub mod json;
pub mod junit;
