//! Suites: the TOML case format (`model`), its loading and validation (`load`), the validated
//! form (`case`), errors with positions (`error`), spec links (`spec_url`) and the files embedded
//! in the binary.

pub mod case;
pub mod embedded;
pub mod error;
pub mod generated;
pub mod load;
pub mod model;
pub mod spec_url;

pub use case::{Case, MediaDef, Suite};
pub use error::{SuiteError, SuiteErrors};
pub use load::{SourceFile, build_suite, load_suite, parse_suite_text};
