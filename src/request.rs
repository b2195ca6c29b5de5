//! `mediaconf request`: one signed federation request with our key, for reproducing a
//! federation case by hand. It serves our key server (the same `--peer-*` and `--signing-key`
//! settings as `run`) so the target can verify the signature, prints the exchange, and dissects
//! a multipart body part by part with the strict parser's verdicts.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::cli::RequestArgs;
use crate::client::{HttpClient, OutgoingRequest};
use crate::multipart::parse_media_response;
use crate::redact::Redactor;
use crate::run::FederationSettings;
use crate::run::preflight::start_key_server;
use crate::suite::model::XMatrixSpec;

/// The multipart body, part by part, with every violation and note of the strict parser. Pure.
pub fn dissect(content_type: &str, body: &[u8]) -> String {
    let parsed = parse_media_response(content_type, body);
    let mut out = String::new();
    for (i, part) in parsed.parts.iter().enumerate() {
        out.push_str(&format!("part {}:\n", i + 1));
        for (name, value) in &part.headers {
            out.push_str(&format!("  {name}: {value}\n"));
        }
        out.push_str(&format!(
            "  {}\n",
            crate::check::body_excerpt(&part.body, part.body.len() as u64, 200)
        ));
    }
    if parsed.part_count > parsed.parts.len() {
        out.push_str(&format!(
            "… and {} more part(s), {} in all\n",
            parsed.part_count - parsed.parts.len(),
            parsed.part_count
        ));
    }
    if parsed.parts.is_empty() {
        out.push_str("no parts could be delimited\n");
    }
    if parsed.violations.is_empty() {
        out.push_str("strict parser: no violation\n");
    }
    for v in &parsed.violations {
        out.push_str(&format!("violation [{}]: {v}\n", v.code()));
    }
    if parsed.omitted_violations > 0 {
        out.push_str(&format!(
            "… and {} more violation(s)\n",
            parsed.omitted_violations
        ));
    }
    for n in &parsed.notes {
        out.push_str(&format!("note: {n}\n"));
    }
    out
}

/// The command; returns the exit code (0 on any HTTP answer, 2 when none came or set-up failed).
pub async fn request(args: &RequestArgs) -> i32 {
    let fail = |message: String| {
        eprintln!("error: {message}");
        2
    };
    let base = args.target.trim_end_matches('/').to_string();
    let Ok(url) = url::Url::parse(&format!("{base}{}", args.path)) else {
        return fail(format!(
            "`{base}{}` is not a URL: pass --target https://host:port and a path starting with /",
            args.path
        ));
    };
    let destination = match &args.server_name {
        Some(n) => n.clone(),
        None => match (url.host_str(), url.port()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => h.to_string(),
            _ => return fail("cannot derive the server name: pass --server-name".into()),
        },
    };
    if let Some(name) = &args.auth_variant
        && crate::run::signer::variant_by_name(name).is_none()
    {
        let known: Vec<&str> = crate::federation::xmatrix::HeaderVariant::ALL
            .iter()
            .map(|v| v.name())
            .collect();
        return fail(format!(
            "unknown --auth-variant `{name}` (known: {})",
            known.join(", ")
        ));
    }
    let redactor = Redactor::default();
    let settings = FederationSettings::from_args(&args.peer, Some(base.clone()));
    let (peer, context) = match start_key_server(&settings, &destination, &base, &redactor).await {
        Ok(started) => started,
        Err(e) => return fail(e),
    };
    let origin = &context.origin;
    let uri = match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_string(),
    };
    let vars = BTreeMap::from([("server_name".to_string(), destination.clone())]);
    let spec = XMatrixSpec {
        variant: args.auth_variant.clone(),
        ..XMatrixSpec::default()
    };
    let authorization = match context.authorization(&spec, &args.method, &uri, None, &vars) {
        Ok(a) => a,
        Err(e) => return fail(e),
    };
    println!(
        "key server https://{} (signing as {origin} with {}, CA {})",
        peer.local_addr(),
        peer.current_key().key_id,
        peer.ca_path().display()
    );
    let http = match HttpClient::new(64 * 1024 * 1024, redactor.clone(), args.insecure) {
        Ok(h) => h,
        Err(e) => return fail(e),
    };
    let exchange = http
        .send(
            OutgoingRequest {
                method: args.method.clone(),
                url: url.to_string(),
                headers: vec![("Authorization".into(), authorization)],
                body: Default::default(),
                timeout: Duration::from_secs(args.timeout),
            },
            false,
        )
        .await;
    let mut out = format!("> {}\n", exchange.request.line());
    for (name, value) in &exchange.request.headers {
        out.push_str(&format!("> {name}: {value}\n"));
    }
    let code = match &exchange.response {
        Err(e) => {
            out.push_str(&format!("no answer: {e}\n"));
            2
        }
        Ok(r) => {
            out.push_str(&format!("< {}\n", r.status));
            for (name, value) in &r.headers {
                out.push_str(&format!("< {name}: {value}\n"));
            }
            let content_type = r.header("content-type").unwrap_or("");
            if crate::check::content_type::essence(content_type) == "multipart/mixed" {
                out.push_str(&dissect(content_type, &r.body));
            } else {
                out.push_str(&format!(
                    "{}\n",
                    crate::check::body_excerpt(&r.body, r.body_len, 2000)
                ));
            }
            0
        }
    };
    out.push_str(&format!(
        "the target fetched our key document {} time(s)\n",
        peer.key_fetches()
    ));
    print!("{}", crate::report::sanitize(&redactor.redact(&out)));
    code
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dissects_a_conformant_body_and_names_violations() {
        let body = b"--b\r\nContent-Type: application/json\r\n\r\n{}\r\n--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b--\r\n";
        let text = dissect("multipart/mixed; boundary=b", body);
        assert!(
            text.contains("part 1:\n  content-type: application/json")
                || text.contains("part 1:\n  Content-Type: application/json"),
            "{text}"
        );
        assert!(text.contains("hello"), "{text}");
        assert!(text.contains("strict parser: no violation"), "{text}");
        let three = b"--b\r\n\r\n{}\r\n--b\r\n\r\nx\r\n--b\r\n\r\ny\r\n--b--\r\n";
        let text = dissect("multipart/mixed; boundary=b", three);
        assert!(text.contains("part 3:"), "{text}");
        assert!(text.contains("violation ["), "{text}");
    }
}
