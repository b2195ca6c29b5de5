//! What to check when a preflight stage finds something missing: the requirement in words
//! first, then the setting of each known implementation (Synapse, the Conduit family, palpo,
//! Dendrite), the target's own first when its name is known. Pure.
//!
//! The settings are those of the implementations' own configuration files, as documented in
//! their repositories (Synapse `homeserver.yaml`; tuwunel, conduwuit and continuwuity TOML
//! `[global]`; palpo TOML; Dendrite YAML).

/// What a hint is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    /// Guest registration (`kind=guest`).
    Guests,
    /// URL previews of our loopback page.
    Previews,
    /// Outbound federation to our peer on loopback with its own CA.
    FederationToPeer,
}

/// (implementation, what its name in the target's version string starts with, setting).
type Setting = (&'static str, &'static [&'static str], &'static str);

fn settings(topic: Topic) -> (&'static str, &'static [Setting]) {
    match topic {
        Topic::Guests => (
            "the target must allow guest registration",
            &[
                ("Synapse", &["synapse"], "allow_guest_access: true"),
                (
                    "Conduit family",
                    &["tuwunel", "conduwuit", "conduit", "continuwuity"],
                    "tuwunel: allow_registration = true and allow_guest_registration = true; conduwuit: the same, without a registration_token; Conduit: allow_registration = true; continuwuity has no guest registration",
                ),
                (
                    "palpo",
                    &["palpo"],
                    "allow_registration = true (or a registration_token)",
                ),
                (
                    "Dendrite",
                    &["dendrite"],
                    "client_api.registration_disabled: false and client_api.guests_disabled: false, started with --really-enable-open-registration",
                ),
            ],
        ),
        Topic::Previews => (
            "the target must preview URLs and may fetch http://127.0.0.1 (loopback is refused by default)",
            &[
                (
                    "Synapse",
                    &["synapse"],
                    "url_preview_enabled: true and url_preview_ip_range_whitelist: ['127.0.0.1']",
                ),
                (
                    "Conduit family",
                    &["tuwunel", "conduwuit", "continuwuity"],
                    "url_preview_domain_explicit_allowlist = [\"127.0.0.1\"] and ip_range_denylist = [] (Conduit has no URL previews)",
                ),
                (
                    "palpo",
                    &["palpo"],
                    "[url_preview] domain_explicit_allowlist = [\"127.0.0.1\"] and ip_range_denylist = []",
                ),
                ("Dendrite", &["dendrite"], "no URL previews"),
            ],
        ),
        Topic::FederationToPeer => (
            "the target must reach our peer on loopback over HTTPS and trust our CA",
            &[
                (
                    "Synapse",
                    &["synapse"],
                    "ip_range_blacklist: [], federation_custom_ca_list: [CA] or federation_verify_certificates: false, trusted_key_servers: []",
                ),
                (
                    "Conduit family",
                    &["tuwunel", "conduwuit", "conduit", "continuwuity"],
                    "ip_range_denylist = [] (Conduit has none), and SSL_CERT_FILE=CA in its environment",
                ),
                (
                    "palpo",
                    &["palpo"],
                    "ip_range_denylist = [] and SSL_CERT_FILE=CA; it never fetches keys from an IP-literal server name",
                ),
                (
                    "Dendrite",
                    &["dendrite"],
                    "remove 127.0.0.1/8 from federation_api.deny_networks, and federation_api.disable_tls_validation: true or SSL_CERT_FILE=CA",
                ),
            ],
        ),
    }
}

/// "WHAT (Synapse: …; Conduit family: …; palpo: …; Dendrite: …)", the implementation named by
/// `server_version` (e.g. `Synapse 1.163.2`) first; `CA` in a setting becomes `ca`.
pub fn hint(topic: Topic, server_version: Option<&str>, ca: &str) -> String {
    let (what, all) = settings(topic);
    let version = server_version.unwrap_or("").to_ascii_lowercase();
    let is_target = |(_, names, _): &&Setting| names.iter().any(|n| version.starts_with(n));
    let ordered = all
        .iter()
        .filter(is_target)
        .chain(all.iter().filter(|s| !is_target(s)));
    let parts: Vec<String> = ordered
        .map(|(name, _, setting)| format!("{name}: {}", setting.replace("CA", ca)))
        .collect();
    format!("{what} ({})", parts.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_hint_names_the_requirement_then_each_implementation() {
        for topic in [Topic::Guests, Topic::Previews, Topic::FederationToPeer] {
            let h = hint(topic, None, "/tmp/ca.pem");
            let first = ["Synapse:", "Conduit family:", "palpo:", "Dendrite:"]
                .iter()
                .map(|n| h.find(n).unwrap_or_else(|| panic!("{n} missing in {h}")))
                .min()
                .unwrap();
            assert!(h.starts_with("the target must"), "{h}");
            assert!(h.find('(').unwrap() < first, "{h}");
        }
    }

    #[test]
    fn the_targets_own_implementation_comes_first() {
        let h = hint(Topic::Guests, Some("tuwunel 1.4.0"), "ca");
        assert!(
            h.find("Conduit family:").unwrap() < h.find("Synapse:").unwrap(),
            "{h}"
        );
        let h = hint(Topic::Guests, Some("Synapse 1.163.2"), "ca");
        assert!(
            h.find("Synapse:").unwrap() < h.find("palpo:").unwrap(),
            "{h}"
        );
    }

    #[test]
    fn the_ca_path_is_filled_in() {
        let h = hint(Topic::FederationToPeer, None, "/tmp/ca.pem");
        assert!(h.contains("SSL_CERT_FILE=/tmp/ca.pem"), "{h}");
        assert!(
            h.contains("federation_custom_ca_list: [/tmp/ca.pem]"),
            "{h}"
        );
    }
}
