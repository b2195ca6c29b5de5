//! SIGINT and SIGTERM as one source: what `run` (its reports, then at once), `run --image`
//! (while the container starts) and `mediaconf peer` stop on.

use tokio::signal::unix::{Signal, SignalKind, signal};

/// Handlers for SIGINT and SIGTERM, installed when made.
pub struct Interrupts {
    int: Signal,
    term: Signal,
}

impl Interrupts {
    /// Installs both handlers now; `None` when the system refuses either.
    pub fn install() -> Option<Self> {
        Some(Interrupts {
            int: signal(SignalKind::interrupt()).ok()?,
            term: signal(SignalKind::terminate()).ok()?,
        })
    }

    /// The next SIGINT or SIGTERM.
    pub async fn next(&mut self) {
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
    }
}

/// Installs the handlers now and returns a future that resolves on the first SIGINT or
/// SIGTERM (on Ctrl-C alone when the handlers cannot be installed).
pub fn first() -> impl std::future::Future<Output = ()> {
    let interrupts = Interrupts::install();
    async move {
        match interrupts {
            Some(mut i) => i.next().await,
            None => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
}
