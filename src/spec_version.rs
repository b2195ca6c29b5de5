//! Matrix spec versions (`v1.11`, `r0.6.1`) as comparable values, and the set a target advertises.
//!
//! Pure: parsing and comparison only. Which cases a version selects is decided in `plan`.

use std::fmt;
use std::str::FromStr;

/// A `vMAJOR.MINOR` spec version. Legacy `r0.x.y` versions sort before every `v1.x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SpecVersion {
    pub major: u32,
    pub minor: u32,
}

impl SpecVersion {
    pub const fn new(major: u32, minor: u32) -> Self {
        SpecVersion { major, minor }
    }
}

impl fmt::Display for SpecVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.major == 0 {
            write!(f, "r0.{}", self.minor)
        } else {
            write!(f, "v{}.{}", self.major, self.minor)
        }
    }
}

/// Why a string is not a spec version.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{text}` is not a spec version (expected the form v1.12)")]
pub struct SpecVersionError {
    pub text: String,
}

impl FromStr for SpecVersion {
    type Err = SpecVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || SpecVersionError {
            text: s.to_string(),
        };
        if let Some(rest) = s.strip_prefix("r0.") {
            let minor = rest.split('.').next().ok_or_else(err)?;
            return Ok(SpecVersion::new(0, minor.parse().map_err(|_| err())?));
        }
        let rest = s.strip_prefix('v').ok_or_else(err)?;
        let (major, minor) = rest.split_once('.').ok_or_else(err)?;
        Ok(SpecVersion::new(
            major.parse().map_err(|_| err())?,
            minor.parse().map_err(|_| err())?,
        ))
    }
}

/// The versions a target claims, from `/_matrix/client/versions` or `--spec`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AdvertisedVersions {
    pub versions: Vec<SpecVersion>,
}

impl AdvertisedVersions {
    /// Parses the `versions` array, ignoring entries that are not spec versions.
    pub fn from_strings<'a>(items: impl IntoIterator<Item = &'a str>) -> Self {
        let mut versions: Vec<SpecVersion> =
            items.into_iter().filter_map(|s| s.parse().ok()).collect();
        versions.sort();
        versions.dedup();
        AdvertisedVersions { versions }
    }

    pub fn highest(&self) -> Option<SpecVersion> {
        self.versions.last().copied()
    }

    /// True when the newest advertised version lies in `since..=until`: a server is judged by
    /// the newest version it claims, so a rule that ended with v1.11 does not apply to a server
    /// advertising v1.12 as well.
    pub fn newest_in(&self, since: SpecVersion, until: Option<SpecVersion>) -> bool {
        self.highest()
            .is_some_and(|v| v >= since && until.is_none_or(|u| v <= u))
    }

    /// Human range, e.g. `v1.1…v1.12`.
    pub fn describe(&self) -> String {
        match (self.versions.first(), self.versions.last()) {
            (Some(a), Some(b)) if a == b => a.to_string(),
            (Some(a), Some(b)) => format!("{a}…{b}"),
            _ => "no spec versions".to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_orders() {
        let a: SpecVersion = "v1.9".parse().unwrap();
        let b: SpecVersion = "v1.11".parse().unwrap();
        let r: SpecVersion = "r0.6.1".parse().unwrap();
        assert!(a < b && r < a);
        assert_eq!(b.to_string(), "v1.11");
        assert!("1.11".parse::<SpecVersion>().is_err());
        assert!("vx.1".parse::<SpecVersion>().is_err());
    }

    #[test]
    fn range_selection() {
        let adv = AdvertisedVersions::from_strings(["r0.6.1", "v1.1", "v1.11", "garbage"]);
        assert_eq!(adv.highest(), Some(SpecVersion::new(1, 11)));
        assert!(adv.newest_in(SpecVersion::new(1, 11), None));
        assert!(!adv.newest_in(SpecVersion::new(1, 12), None));
        assert!(adv.newest_in(SpecVersion::new(1, 2), Some(SpecVersion::new(1, 19))));
        assert!(!adv.newest_in(SpecVersion::new(1, 20), Some(SpecVersion::new(1, 30))));
        // v1.1 is advertised, but the newest (v1.11) is past the rule's end.
        assert!(!adv.newest_in(SpecVersion::new(1, 1), Some(SpecVersion::new(1, 10))));
        assert_eq!(adv.describe(), "r0.6…v1.11");
    }
}
