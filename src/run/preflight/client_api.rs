//! Stage "client API": the target answers `/_matrix/client/versions` and advertises a spec
//! version (or `--spec` chooses one). Needs the target URL; adds what the target says about
//! itself. Fatal when the target is unreachable or advertises nothing usable.

use super::{Ledger, PreflightError};
use crate::client::AccountClient;
use crate::plan::VersionBasis;
use crate::run::config::RunConfig;
use crate::run::event::TargetInfo;
use crate::spec_version::{AdvertisedVersions, SpecVersion};

/// What the target says about itself.
#[derive(Debug, Clone)]
pub struct ClientApi {
    /// `versions` of `/_matrix/client/versions`, as advertised.
    pub versions: Vec<String>,
    /// `unstable_features` of the same answer.
    pub unstable: serde_json::Value,
    /// `Synapse 1.163.2`, when the target says.
    pub server_version: Option<String>,
    /// The `Server` header of `/_matrix/client/versions`, when there is one.
    pub server_header: Option<String>,
}

/// Asks the target for its versions; reports the spec range.
pub async fn probe(
    config: &RunConfig,
    accounts: &AccountClient<'_>,
    ledger: &mut Ledger<'_>,
) -> Result<ClientApi, PreflightError> {
    let (versions, unstable, server_header) = accounts.versions().await.map_err(|e| {
        PreflightError::new(
            format!("the target's client API is not reachable: {e}"),
            format!("check --target {} (it must be the client-server base URL, e.g. http://127.0.0.1:8008)", config.target),
        )
    })?;
    if versions.iter().all(|v| v.parse::<SpecVersion>().is_err()) && config.spec_override.is_none()
    {
        return Err(PreflightError::new(
            format!(
                "the target advertises no spec version on /_matrix/client/versions (versions: {versions:?})"
            ),
            "the target must list versions such as \"v1.12\"; or pass --spec vX.Y to choose the rules to apply",
        ));
    }
    let server_version = accounts.server_version().await;
    ledger.report("client API", true, spec_range(&versions));
    Ok(ClientApi {
        versions,
        unstable,
        server_version,
        server_header,
    })
}

/// Stage "identify": when the client base did not name the implementation, asks the
/// federation API's `/_matrix/federation/v1/version`, else takes the `Server` header.
pub async fn identify(api: &mut ClientApi, session: &mut crate::run::session::Session) {
    if api.server_version.is_none() && !session.federation_base.is_empty() {
        let answer = session
            .get(format!(
                "{}/_matrix/federation/v1/version",
                session.federation_base
            ))
            .await;
        api.server_version = answer
            .ok()
            .and_then(|r| r.json())
            .and_then(|j| crate::client::accounts::version_of(&j));
    }
    api.server_version = identity(api.server_version.take(), api.server_header.as_deref());
    session.server_version = api.server_version.clone();
}

/// The implementation's name: from the version endpoint, else `<Server header> (Server
/// header)`. Pure.
pub fn identity(version: Option<String>, server_header: Option<&str>) -> Option<String> {
    version.or_else(|| {
        server_header
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(|h| format!("{h} (Server header)"))
    })
}

/// `spec v1.1…v1.15` for the preflight line.
fn spec_range(versions: &[String]) -> String {
    match (versions.first(), versions.last()) {
        (Some(a), Some(b)) if a != b => format!("spec {a}…{b}"),
        (Some(a), _) => format!("spec {a}"),
        _ => "no spec versions advertised".to_string(),
    }
}

impl ClientApi {
    /// The versions the plan judges by: `--spec`, else the advertised ones.
    pub fn version_basis(&self, spec_override: Option<SpecVersion>) -> VersionBasis {
        match spec_override {
            Some(v) => VersionBasis::Forced(v),
            None => VersionBasis::Advertised(AdvertisedVersions::from_strings(
                self.versions.iter().map(String::as_str),
            )),
        }
    }

    /// The newest version the run judges by: `--spec`, else the newest advertised.
    pub fn newest(&self, spec_override: Option<SpecVersion>) -> Option<SpecVersion> {
        spec_override.or_else(|| {
            AdvertisedVersions::from_strings(self.versions.iter().map(String::as_str)).highest()
        })
    }

    /// The target as the reports name it.
    pub fn target_info(&self, config: &RunConfig, server_name: String) -> TargetInfo {
        TargetInfo {
            url: config.target.clone(),
            server_name,
            server_version: self.server_version.clone(),
            versions: self.versions.clone(),
            spec_override: config.spec_override.map(|v| v.to_string()),
            unstable_features: self
                .unstable
                .as_object()
                .map(|o| {
                    o.iter()
                        .filter(|(_, v)| v.as_bool() == Some(true))
                        .map(|(k, _)| k.clone())
                        .collect()
                })
                .unwrap_or_default(),
            container: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_endpoint_wins_then_the_server_header() {
        assert_eq!(
            identity(Some("Synapse 1.163.2".into()), Some("nginx")).as_deref(),
            Some("Synapse 1.163.2")
        );
        assert_eq!(
            identity(None, Some("tuwunel/1.4")).as_deref(),
            Some("tuwunel/1.4 (Server header)")
        );
        assert_eq!(identity(None, Some("  ")), None);
        assert_eq!(identity(None, None), None);
    }
}
