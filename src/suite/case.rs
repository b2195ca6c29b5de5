//! Validated suite content: cases with parsed versions, resolved profiles and needs, and media.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::model::{Api, MediaSpec, Need, StepSpec};
use crate::level::Level;
use crate::spec_version::SpecVersion;

/// A case ready to plan: every reference in it has been checked.
#[derive(Debug, Clone)]
pub struct Case {
    /// Checklist id, possibly with a suffix: `B-01.thumbnail`.
    pub id: String,
    pub title: String,
    pub level: Level,
    pub spec_ref: String,
    /// Link to the cited section of spec.matrix.org or the MSC (`spec-url`, else derived).
    pub spec_url: String,
    pub since: SpecVersion,
    pub until: Option<SpecVersion>,
    pub profile: String,
    /// From an `opt-in = true` file: runs only when `--profile` names the profile.
    pub opt_in: bool,
    pub api: Api,
    pub peer_scenario: Option<String>,
    /// Explicit needs plus those implied by auth modes and media owners.
    pub needs: BTreeSet<Need>,
    /// Media names the case uses.
    pub media: BTreeSet<String>,
    /// Runs alone after all other cases.
    pub serial: bool,
    /// Set for cases that cannot be automated: the reason they are skipped.
    pub manual: Option<String>,
    /// The wrong behaviour the case shares with others (suite key `cause`); `None`: its family.
    pub cause: Option<String>,
    /// Suite key `cause-by-answer`: an answer's start → the cause it shows ([`Case::cause_of`]).
    pub cause_by_answer: Vec<(String, String)>,
    /// How long the case waits on purpose (`slow = "60s"`).
    pub slow: Option<std::time::Duration>,
    /// The requests, in order (the single-request form becomes one step).
    pub steps: Vec<StepSpec>,
    /// `file:line` of the case, for reports.
    pub location: String,
}

impl Case {
    /// The cause a broken run of this case shows, given its first broken expectation as
    /// `CHECK ACTUAL` (`status 200`): the `cause-by-answer` entry with the longest matching
    /// start, else `cause`.
    pub fn cause_of(&self, first_broken: Option<&str>) -> Option<String> {
        let by_answer = first_broken.and_then(|answer| {
            self.cause_by_answer
                .iter()
                .filter(|(start, _)| answer.starts_with(start.as_str()))
                .max_by_key(|(start, _)| start.len())
                .map(|(_, cause)| cause.clone())
        });
        by_answer.or_else(|| self.cause.clone())
    }

    /// `v1.11` or `v1.11–v1.19`.
    pub fn version_range(&self) -> String {
        match self.until {
            Some(u) => format!("{}–{}", self.since, u),
            None => format!("{}+", self.since),
        }
    }
}

/// A media definition with its fixture bytes loaded.
#[derive(Debug, Clone)]
pub struct MediaDef {
    pub name: String,
    pub spec: MediaSpec,
    /// Fixture bytes (empty for pending media without a fixture); clones share them.
    pub bytes: Bytes,
    /// Where it was defined, `file:line`.
    pub location: String,
    /// Hex SHA-256 of `bytes`, computed on first use and shared by clones.
    pub sha256: Arc<OnceLock<String>>,
}

impl MediaDef {
    pub fn new(name: String, spec: MediaSpec, bytes: Vec<u8>, location: String) -> Self {
        MediaDef {
            name,
            spec,
            bytes: Bytes::from(bytes),
            location,
            sha256: Arc::default(),
        }
    }

    /// Hex SHA-256 of the fixture bytes (computed once per process).
    pub fn sha256(&self) -> &str {
        self.sha256
            .get_or_init(|| crate::digest::sha256_hex(&self.bytes))
    }
}

/// Everything loaded from the embedded suites and `--suite` directories.
#[derive(Debug, Clone, Default)]
pub struct Suite {
    /// Shared: plans and runs hold the same cases, never copies.
    pub cases: Vec<Arc<Case>>,
    pub media: BTreeMap<String, MediaDef>,
}

impl Suite {
    /// Profiles present in the suite, sorted.
    pub fn profiles(&self) -> BTreeSet<String> {
        self.cases.iter().map(|c| c.profile.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::suite::load_suite;

    #[test]
    fn the_cause_follows_the_answer_and_the_longest_start_wins() {
        let suite = load_suite(&[]).unwrap();
        let b06 = suite
            .cases
            .iter()
            .find(|c| c.id == "B-06.async-upload")
            .unwrap();
        let accepted = Some("an unknown access token is accepted".to_owned());
        let ignored = Some("the access_token query parameter is ignored".to_owned());
        assert_eq!(b06.cause_of(Some("status 200")), accepted);
        assert_eq!(b06.cause_of(Some("status 404 M_NOT_FOUND")), accepted);
        assert_eq!(b06.cause_of(Some("errcode M_MISSING_TOKEN")), ignored);
        // No entry matches: the case's `cause`, here none (its family).
        assert_eq!(b06.cause_of(Some("status 500 M_UNKNOWN")), None);
        assert_eq!(b06.cause_of(None), None);
        let b05 = suite.cases.iter().find(|c| c.id == "B-05.config").unwrap();
        assert_eq!(b05.cause_of(Some("status 401 M_MISSING_TOKEN")), ignored);

        let mut overlapping = crate::suite::case::Case::clone(b05);
        overlapping.cause_by_answer = vec![
            ("status 404".into(), "not found".into()),
            ("status 4".into(), "a client error".into()),
        ];
        overlapping.cause = Some("its own".into());
        assert_eq!(
            overlapping
                .cause_of(Some("status 404 M_NOT_FOUND"))
                .unwrap(),
            "not found"
        );
        assert_eq!(
            overlapping.cause_of(Some("status 403")).unwrap(),
            "a client error"
        );
        assert_eq!(overlapping.cause_of(Some("status 500")).unwrap(), "its own");
    }
}
