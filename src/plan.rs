//! Choosing what runs: cases by profile and spec version, then skips (with reasons) for what the
//! target or this run cannot provide. Pure: capabilities are probed elsewhere and passed in.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::outcome::SetUpProblem;
use crate::spec_version::{AdvertisedVersions, SpecVersion};
use crate::suite::model::Need;
use crate::suite::{Case, Suite};

/// Which spec versions cases are selected against.
#[derive(Debug, Clone)]
pub enum VersionBasis {
    /// What the target advertised on `/_matrix/client/versions`.
    Advertised(AdvertisedVersions),
    /// `--spec vX.Y`: judge the target as an implementation of exactly this version.
    Forced(SpecVersion),
}

impl VersionBasis {
    fn applies(&self, case: &Case) -> Result<(), String> {
        match self {
            VersionBasis::Advertised(adv) => {
                if adv.newest_in(case.since, case.until) {
                    Ok(())
                } else {
                    Err(format!(
                        "applies to {}; the newest version the target advertises is {}",
                        case.version_range(),
                        adv.highest().map_or("none".to_string(), |v| v.to_string())
                    ))
                }
            }
            VersionBasis::Forced(v) => {
                if *v >= case.since && case.until.is_none_or(|u| *v <= u) {
                    Ok(())
                } else {
                    Err(format!(
                        "applies to {}; --spec is {v}",
                        case.version_range()
                    ))
                }
            }
        }
    }
}

/// Which case ids `--case` and `--skip` select.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// `--case` globs: when any is given, only matching cases run.
    pub include: Vec<String>,
    /// `--skip` globs: matching cases do not run.
    pub exclude: Vec<String>,
}

impl Selection {
    /// `Err(reason)` when the case is left out.
    pub fn check(&self, id: &str) -> Result<(), String> {
        if !self.include.is_empty() && !self.include.iter().any(|p| glob_match(p, id)) {
            return Err(format!(
                "not selected: no --case pattern matches ({})",
                self.include.join(", ")
            ));
        }
        match self.exclude.iter().find(|p| glob_match(p, id)) {
            Some(p) => Err(format!("not selected: --skip {p}")),
            None => Ok(()),
        }
    }

    /// Patterns that match none of `ids` (most likely typos).
    pub fn unmatched<'a>(&'a self, ids: &[&str]) -> Vec<&'a str> {
        self.include
            .iter()
            .chain(&self.exclude)
            .filter(|p| !ids.iter().any(|id| glob_match(p, id)))
            .map(String::as_str)
            .collect()
    }
}

pub use crate::glob::glob_match;

/// A case in the plan: to run, skipped with the reason (not applicable: another spec version,
/// not automated), or not run because something it needs is unavailable (a set-up problem).
#[derive(Debug, Clone)]
pub enum Planned {
    Run(Arc<Case>),
    Skip(Arc<Case>, String),
    NotRun(Arc<Case>, SetUpProblem),
}

impl Planned {
    pub fn case(&self) -> &Arc<Case> {
        match self {
            Planned::Run(c) | Planned::Skip(c, _) | Planned::NotRun(c, _) => c,
        }
    }
}

/// Cases of the selected profiles (all when `profiles` is empty), grouped by profile (in the
/// order profiles first appear) and otherwise in suite order, with the skips that need no
/// probing: manual cases, not-yet-supported kinds, spec version.
pub fn select(
    suite: &Suite,
    profiles: &BTreeSet<String>,
    basis: &VersionBasis,
    quick: bool,
    selection: &Selection,
) -> Vec<Planned> {
    let mut rank: Vec<&str> = Vec::new();
    for c in &suite.cases {
        if !rank.contains(&c.profile.as_str()) {
            rank.push(&c.profile);
        }
    }
    let mut cases: Vec<&Arc<Case>> = suite
        .cases
        .iter()
        .filter(|c| (profiles.is_empty() && !c.opt_in) || profiles.contains(&c.profile))
        .collect();
    cases.sort_by_key(|c| rank.iter().position(|p| *p == c.profile));
    cases
        .into_iter()
        .map(|case| {
            let case = Arc::clone(case);
            if let Err(reason) = selection.check(&case.id) {
                return Planned::Skip(case, reason);
            }
            if let Some(reason) = case.manual.clone() {
                return Planned::Skip(case, format!("not automated: {reason}"));
            }
            if let Some(wait) = case.slow.filter(|_| quick) {
                return Planned::Skip(
                    case,
                    format!(
                        "slow: waits up to {} s on purpose; run without --quick",
                        wait.as_secs_f64()
                    ),
                );
            }
            match basis.applies(&case) {
                Ok(()) => Planned::Run(case),
                Err(reason) => Planned::Skip(case, reason),
            }
        })
        .collect()
}

/// Needs of the cases still set to run.
pub fn needs_of(plan: &[Planned]) -> BTreeSet<Need> {
    plan.iter()
        .filter_map(|p| match p {
            Planned::Run(c) => Some(c.needs.iter().copied()),
            Planned::Skip(..) | Planned::NotRun(..) => None,
        })
        .flatten()
        .collect()
}

/// Turns runnable cases whose needs are unavailable into not-run entries. `unavailable` maps a
/// need to the set-up problem that makes it unavailable.
pub fn apply_capabilities(
    plan: Vec<Planned>,
    unavailable: &BTreeMap<Need, SetUpProblem>,
) -> Vec<Planned> {
    plan.into_iter()
        .map(|p| match p {
            Planned::Run(case) => {
                let problem = case.needs.iter().find_map(|n| unavailable.get(n)).cloned();
                match problem {
                    Some(problem) => Planned::NotRun(case, problem),
                    None => Planned::Run(case),
                }
            }
            skip => skip,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::suite::{SourceFile, build_suite};

    fn suite(text: &str) -> Suite {
        build_suite(
            &[SourceFile {
                name: "t.toml".into(),
                text: text.into(),
                dir: None,
            }],
            &|_, _| None,
        )
        .unwrap()
    }

    const TEXT: &str = r#"
profile = "client"
[[case]]
id = "A-1"
title = "a"
level = "MUST"
spec = "x"
since = "v1.11"
[case.request]
path = "/a"
[[case]]
id = "A-2"
title = "b"
level = "MUST"
spec = "x"
since = "v1.12"
profile = "guest"
[case.request]
path = "/b"
auth = "guest"
[[case]]
id = "A-3"
title = "c"
level = "MUST"
spec = "x"
since = "v1.11"
api = "federation"
[case.request]
path = "/c"
auth = "x-matrix"
"#;

    #[test]
    fn selects_by_version_and_profile() {
        let s = suite(TEXT);
        let basis = VersionBasis::Advertised(AdvertisedVersions::from_strings(["v1.11"]));
        let plan = select(&s, &BTreeSet::new(), &basis, false, &Selection::default());
        // Grouped by profile: the two client cases first, then the guest case.
        assert!(matches!(&plan[0], Planned::Run(c) if c.id == "A-1"));
        assert!(
            matches!(&plan[1], Planned::Run(c) if c.id == "A-3" && c.needs.contains(&Need::Federation))
        );
        assert!(
            matches!(&plan[2], Planned::Skip(c, r) if c.id == "A-2" && r.contains("v1.12+") && r.contains("v1.11"))
        );
        let only_guest = select(
            &s,
            &BTreeSet::from(["guest".to_string()]),
            &VersionBasis::Forced(SpecVersion::new(1, 12)),
            false,
            &Selection::default(),
        );
        assert_eq!(only_guest.len(), 1);
        assert!(matches!(&only_guest[0], Planned::Run(_)));
    }

    #[test]
    fn quick_skips_slow_cases_with_the_reason() {
        let s = suite(&TEXT.replacen(
            "since = \"v1.11\"\n",
            "since = \"v1.11\"\nslow = \"60s\"\n",
            1,
        ));
        let basis = VersionBasis::Forced(SpecVersion::new(1, 12));
        let quick = select(&s, &BTreeSet::new(), &basis, true, &Selection::default());
        assert!(
            matches!(&quick[0], Planned::Skip(c, r) if c.id == "A-1" && r == "slow: waits up to 60 s on purpose; run without --quick")
        );
        assert!(matches!(&quick[1], Planned::Run(_)));
        let full = select(&s, &BTreeSet::new(), &basis, false, &Selection::default());
        assert!(
            matches!(&full[0], Planned::Run(c) if c.slow == Some(std::time::Duration::from_secs(60)))
        );
    }

    #[test]
    fn opt_in_profiles_run_only_when_named() {
        let s = suite(&format!("opt-in = true\n{TEXT}"));
        let basis = VersionBasis::Forced(SpecVersion::new(1, 12));
        let default = select(&s, &BTreeSet::new(), &basis, false, &Selection::default());
        assert!(default.is_empty(), "{default:?}");
        let named = select(
            &s,
            &BTreeSet::from(["client".to_string()]),
            &basis,
            false,
            &Selection::default(),
        );
        assert_eq!(named.len(), 2);
    }

    #[test]
    fn globs_match_case_ids() {
        assert!(glob_match("F-2*", "F-25.reordered"));
        assert!(glob_match("F-2*", "F-2"));
        assert!(!glob_match("F-2*", "F-17"));
        assert!(glob_match("C-19.*", "C-19.bang"));
        assert!(!glob_match("C-19.*", "C-19"));
        assert!(glob_match("?-01", "A-01"));
        assert!(glob_match("*status", "F-18.status"));
        assert!(glob_match("B-0?.*", "B-02.upload"));
        assert!(!glob_match("b-02.*", "B-02.upload"), "case-sensitive");
    }

    #[test]
    fn selection_skips_with_the_reason() {
        let s = suite(TEXT);
        let basis = VersionBasis::Forced(SpecVersion::new(1, 12));
        let only = Selection {
            include: vec!["A-*".into()],
            exclude: vec!["A-2".into()],
        };
        let plan = select(&s, &BTreeSet::new(), &basis, false, &only);
        assert!(matches!(&plan[0], Planned::Run(c) if c.id == "A-1"));
        assert!(
            matches!(&plan[2], Planned::Skip(c, r) if c.id == "A-2" && r == "not selected: --skip A-2")
        );
        let none = Selection {
            include: vec!["Z-*".into()],
            exclude: vec![],
        };
        assert!(
            matches!(&select(&s, &BTreeSet::new(), &basis, false, &none)[0], Planned::Skip(_, r) if r.starts_with("not selected: no --case pattern matches (Z-*)"))
        );
        assert_eq!(none.unmatched(&["A-1", "A-2"]), ["Z-*"]);
    }

    #[test]
    fn unavailable_needs_become_skips() {
        let s = suite(TEXT);
        let plan = select(
            &s,
            &BTreeSet::new(),
            &VersionBasis::Forced(SpecVersion::new(1, 12)),
            false,
            &Selection::default(),
        );
        assert!(needs_of(&plan).contains(&Need::Guest));
        let problem = SetUpProblem {
            by: "preflight guest registration".into(),
            why: "guest registration disabled".into(),
            need: Some("guest".into()),
        };
        let plan = apply_capabilities(plan, &BTreeMap::from([(Need::Guest, problem.clone())]));
        assert!(matches!(&plan[2], Planned::NotRun(c, p) if c.id == "A-2" && *p == problem));
        assert!(matches!(&plan[0], Planned::Run(_)));
    }
}
