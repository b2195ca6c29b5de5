//! Stage "media": uploads (or creates) the media the runnable cases use, concurrently, each
//! with its owner's account. Needs the plan and the accounts; adds the session's media, each
//! prepared or with why not (a case using a failed one is blocked by it).

use std::collections::BTreeSet;

use super::Ledger;
use crate::plan::Planned;
use crate::run::session::Session;
use crate::suite::Suite;
use crate::suite::model::Account as MediaOwner;

/// Prepares every media item a runnable case uses; one line per failure, one summary line.
pub async fn upload(
    suite: &Suite,
    session: &mut Session,
    planned: &[Planned],
    ledger: &mut Ledger<'_>,
) {
    let wanted: BTreeSet<String> = planned
        .iter()
        .filter_map(|p| match p {
            Planned::Run(c) => Some(c.media.iter().cloned()),
            Planned::Skip(..) | Planned::NotRun(..) => None,
        })
        .flatten()
        .collect();
    // Uploaded concurrently: they are independent, and a run should not wait for each in turn.
    let uploads = wanted.iter().filter_map(|name| {
        let def = suite.media.get(name)?;
        let owner = match def.spec.owner {
            MediaOwner::User => session.user.clone(),
            MediaOwner::OtherUser => session.other_user.clone(),
        };
        let session = &*session;
        Some(async move {
            let result = match owner {
                Some(account) => session.prepare_media(def, &account).await,
                None => Err(format!(
                    "media `{name}` needs an account this run does not have"
                )),
            };
            (name.clone(), result)
        })
    });
    let results = futures_util::future::join_all(uploads).await;
    let mut media_ok = 0;
    for (name, mut result) in results {
        // Media made on an endpoint found not implemented fails for that one reason.
        let create = suite.media.get(&name).is_some_and(|d| d.spec.pending);
        if result.is_err()
            && create
            && let Some(missing) = session
                .not_served
                .iter()
                .find(|n| n.matches("POST", "/_matrix/media/v1/create"))
        {
            result = Err(format!("{}: {}", missing.problem.by, missing.problem.why));
        }
        match &result {
            Err(e) => ledger.report("media", false, e.clone()),
            Ok(_) => media_ok += 1,
        }
        session.media.insert(name, result);
    }
    ledger.report(
        "media",
        media_ok == wanted.len(),
        format!("{media_ok}/{} uploaded or created", wanted.len()),
    );
}
