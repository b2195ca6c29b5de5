//! Choosing what runs: cases by profile and spec version, then skips (with reasons) for what the
//! target or this run cannot provide. Pure: capabilities are probed elsewhere and passed in.

use std::collections::{BTreeMap, BTreeSet};

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
                if adv.any_in(case.since, case.until) {
                    Ok(())
                } else {
                    Err(format!(
                        "applies to {}; the target advertises {}",
                        case.version_range(),
                        adv.describe()
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

/// A case in the plan: to run, or skipped with the reason.
#[derive(Debug, Clone)]
pub enum Planned {
    Run(Case),
    Skip(Case, String),
}

impl Planned {
    pub fn case(&self) -> &Case {
        match self {
            Planned::Run(c) | Planned::Skip(c, _) => c,
        }
    }
}

/// Cases of the selected profiles (all when `profiles` is empty), in suite order, with the
/// skips that need no probing: manual cases, not-yet-supported kinds, spec version.
pub fn select(suite: &Suite, profiles: &BTreeSet<String>, basis: &VersionBasis) -> Vec<Planned> {
    suite
        .cases
        .iter()
        .filter(|c| profiles.is_empty() || profiles.contains(&c.profile))
        .map(|case| {
            let case = case.clone();
            if let Some(reason) = case.manual.clone() {
                return Planned::Skip(case, format!("not automated: {reason}"));
            }
            if case.peer_scenario.is_some() {
                return Planned::Skip(
                    case,
                    "mock-peer scenarios (the target fetching from mediaconf's mock homeserver) are not supported by this version of mediaconf yet".to_string(),
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
            Planned::Skip(..) => None,
        })
        .flatten()
        .collect()
}

/// Turns runnable cases whose needs are unavailable into skips. `unavailable` maps a need to
/// the reason it cannot be met.
pub fn apply_capabilities(
    plan: Vec<Planned>,
    unavailable: &BTreeMap<Need, String>,
) -> Vec<Planned> {
    plan.into_iter()
        .map(|p| match p {
            Planned::Run(case) => match case
                .needs
                .iter()
                .find_map(|n| unavailable.get(n).map(|r| (n, r)))
            {
                Some((need, reason)) => {
                    Planned::Skip(case.clone(), format!("needs {need}: {reason}"))
                }
                None => Planned::Run(case),
            },
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
        let plan = select(&s, &BTreeSet::new(), &basis);
        assert!(matches!(&plan[0], Planned::Run(c) if c.id == "A-1"));
        assert!(
            matches!(&plan[1], Planned::Skip(c, r) if c.id == "A-2" && r.contains("v1.12+") && r.contains("v1.11"))
        );
        assert!(matches!(&plan[2], Planned::Run(c) if c.needs.contains(&Need::Federation)));
        let only_guest = select(
            &s,
            &BTreeSet::from(["guest".to_string()]),
            &VersionBasis::Forced(SpecVersion::new(1, 12)),
        );
        assert_eq!(only_guest.len(), 1);
        assert!(matches!(&only_guest[0], Planned::Run(_)));
    }

    #[test]
    fn unavailable_needs_become_skips() {
        let s = suite(TEXT);
        let plan = select(
            &s,
            &BTreeSet::new(),
            &VersionBasis::Forced(SpecVersion::new(1, 12)),
        );
        assert!(needs_of(&plan).contains(&Need::Guest));
        let plan = apply_capabilities(
            plan,
            &BTreeMap::from([(Need::Guest, "guest registration disabled".to_string())]),
        );
        assert!(
            matches!(&plan[1], Planned::Skip(_, r) if r == "needs guest: guest registration disabled")
        );
        assert!(matches!(&plan[0], Planned::Run(_)));
    }
}
