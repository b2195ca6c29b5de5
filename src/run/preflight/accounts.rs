//! Stages "user" and "extra accounts". The user comes from `--user-token` or a registration
//! (fatal when impossible) and gives the server name; the extra accounts (a second user, a
//! logged-out token, a guest) are made concurrently, only when a selected case needs them,
//! and each one that cannot be made makes its need unavailable.

use std::collections::BTreeSet;

use super::{Ledger, PreflightError};
use crate::client::{Account, AccountClient, Registration};
use crate::run::config::{AccountSource, RunConfig};
use crate::run::session::Session;
use crate::suite::model::Need;

/// The run's main account and what follows from it.
pub struct User {
    pub account: Account,
    /// The registration method and the user's localpart, when the run registered it (the
    /// extra accounts are registered the same way).
    pub registration: Option<(Registration, String)>,
    /// `--server-name`, else the domain of the user id.
    pub server_name: String,
    /// The password of every account this run registers (redacted in all output).
    password: String,
}

/// The accounts beyond the user, each present when it was needed and could be made.
pub struct ExtraAccounts {
    pub other_user: Option<Account>,
    pub logged_out_token: Option<String>,
    pub guest: Option<Account>,
}

impl ExtraAccounts {
    /// Hands every account to the session the cases share.
    pub fn into_session(self, session: &mut Session, user: Account) {
        session.user = Some(user);
        session.other_user = self.other_user;
        session.guest = self.guest;
        session.logged_out_token = self.logged_out_token;
    }
}

/// The user: `--user-token` checked with `whoami`, or a new registration.
pub async fn user(
    config: &RunConfig,
    accounts: &AccountClient<'_>,
    ledger: &mut Ledger<'_>,
) -> Result<User, PreflightError> {
    let password = format!("mc-pw-{}", std::process::id());
    config.redactor.add(&password);
    let (account, registration) = match &config.account {
        AccountSource::ExistingToken(token) => {
            (existing_user(config, accounts, token, ledger).await?, None)
        }
        AccountSource::Register(method) => {
            let localpart = unique_localpart();
            let account = accounts
                .register(method, &localpart, &password)
                .await
                .map_err(|e| {
                    PreflightError::new(
                        format!("registration impossible with {}: {e}", method.describe()),
                        "pass --registration-token T, --registration-shared-secret S, or --user-token TOKEN",
                    )
                })?;
            ledger.report(
                "registration",
                true,
                format!("{} via {}", account.user_id, method.describe()),
            );
            (account, Some((method.clone(), localpart)))
        }
    };
    let server_name = server_name_of(config, &account.user_id)?;
    Ok(User {
        account,
        registration,
        server_name,
        password,
    })
}

/// The account of `--user-token`; one account only, so the needs of more are unavailable.
async fn existing_user(
    config: &RunConfig,
    accounts: &AccountClient<'_>,
    token: &str,
    ledger: &mut Ledger<'_>,
) -> Result<Account, PreflightError> {
    config.redactor.add(token);
    let user_id = accounts.whoami(token).await.map_err(|e| {
        PreflightError::new(
            format!("--user-token was not accepted: {e}"),
            "pass a valid access token of a user on the target",
        )
    })?;
    ledger.report("user", true, format!("{user_id} (from --user-token)"));
    let why = "--user-token gives one account; pass a registration method for more".to_string();
    ledger.mark(Need::OtherUser, "--user-token", why.clone());
    ledger.mark(Need::LoggedOut, "--user-token", why);
    Ok(Account {
        user_id,
        access_token: token.to_string(),
        device_id: None,
    })
}

/// `mediaconf-<pid>-<nanos>`: unique across runs on one target.
fn unique_localpart() -> String {
    let tag = format!("{:x}", std::process::id());
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("mediaconf-{tag}-{nanos:x}")
}

fn server_name_of(config: &RunConfig, user_id: &str) -> Result<String, PreflightError> {
    if let Some(s) = &config.server_name {
        return Ok(s.clone());
    }
    user_id
        .split_once(':')
        .map(|(_, s)| s.to_string())
        .ok_or_else(|| {
            PreflightError::new(
                format!("cannot derive the server name from user id {user_id}"),
                "pass --server-name",
            )
        })
}

/// The second user, the logged-out token and the guest, made concurrently when needed.
pub async fn extra(
    accounts: &AccountClient<'_>,
    user: &User,
    needs: &BTreeSet<Need>,
    server_version: Option<&str>,
    ledger: &mut Ledger<'_>,
) -> ExtraAccounts {
    let registered = |suffix: &'static str, need: Need| {
        let registration = user.registration.as_ref().filter(|_| needs.contains(&need));
        async move {
            let (method, localpart) = registration?;
            let localpart = format!("{localpart}-{suffix}");
            Some(accounts.register(method, &localpart, &user.password).await)
        }
    };
    let logged_out = async {
        let account = registered("out", Need::LoggedOut).await?;
        Some(match account {
            Ok(a) => accounts
                .logout(&a.access_token)
                .await
                .map(|()| a.access_token),
            Err(e) => Err(e),
        })
    };
    let guest = async {
        if needs.contains(&Need::Guest) {
            Some(accounts.register_guest().await)
        } else {
            None
        }
    };
    let (other, logged_out, guest) =
        tokio::join!(registered("other", Need::OtherUser), logged_out, guest);
    ExtraAccounts {
        other_user: kept(other, ledger, "second user", Need::OtherUser, |e| {
            format!("registering a second user failed: {e}")
        }),
        logged_out_token: kept(
            logged_out,
            ledger,
            "logged-out token",
            Need::LoggedOut,
            |e| format!("making a logged-out token failed: {e}"),
        ),
        guest: guest_account(guest, server_version, ledger),
    }
}

/// The account made, or its failure reported and its need made unavailable.
fn kept<T>(
    made: Option<Result<T, String>>,
    ledger: &mut Ledger<'_>,
    stage: &str,
    need: Need,
    why: impl FnOnce(&str) -> String,
) -> Option<T> {
    match made? {
        Ok(account) => Some(account),
        Err(e) => {
            ledger.report(stage, false, e.clone());
            ledger.mark(need, &format!("preflight {stage}"), why(&e));
            None
        }
    }
}

fn guest_account(
    made: Option<Result<Account, String>>,
    server_version: Option<&str>,
    ledger: &mut Ledger<'_>,
) -> Option<Account> {
    match made? {
        Ok(guest) => {
            ledger.report("guest registration", true, guest.user_id.clone());
            Some(guest)
        }
        Err(e) => {
            let why = format!(
                "guest registration is not available on the target ({e}): {}",
                super::hints::hint(super::hints::Topic::Guests, server_version, "")
            );
            ledger.report("guest registration", false, why.clone());
            ledger.mark(Need::Guest, "preflight guest registration", why);
            None
        }
    }
}
