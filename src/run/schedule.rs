//! Scheduling a run's cases: every runnable case is spawned at once and waits for one of
//! `--jobs` permits; cases that change shared state (our keys, the target's backoff from the
//! peer) run one at a time on a serial chain once every case they could disturb has finished;
//! each case runs under the run's deadline. Verdicts go to a channel as `(plan index,
//! verdict)`, in completion order (the executor puts them back in plan order).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::mpsc::UnboundedSender;
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;

use super::case::run_case;
use super::session::Session;
use crate::outcome::{Outcome, Verdict};
use crate::plan::Planned;
use crate::suite::Case;
use crate::suite::model::Need;

/// Where finished verdicts go, by plan index.
pub type VerdictSender = UnboundedSender<(usize, Verdict)>;

/// When the cases may run.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// The start of the run (verdicts record their start relative to it).
    pub started: Instant,
    /// No case starts after it; a running case is stopped 5 s after it.
    pub deadline: Instant,
}

/// Spawns every case of `planned` (skipped and blocked ones report at once) and the serial
/// chain; returns the tasks, for an interrupt to abort.
pub fn spawn_cases(
    session: Arc<Session>,
    planned: Vec<Planned>,
    jobs: usize,
    timing: Timing,
    tx: &VerdictSender,
) -> Vec<JoinHandle<()>> {
    let semaphore = Arc::new(Semaphore::new(jobs.max(1)));
    let gate = SerialGate::new(&planned);
    let mut tasks = Vec::new();
    let mut serial = Vec::new();
    for (index, p) in by_start_order(planned) {
        match p {
            Planned::Run(case) if case.serial => serial.push((index, case)),
            Planned::Skip(case, reason) => {
                let _ = tx.send((index, Verdict::skipped(&case, reason)));
            }
            Planned::NotRun(case, problem) => {
                let _ = tx.send((index, Verdict::not_run(&case, problem, false)));
            }
            Planned::Run(case) => tasks.push(spawn_parallel(
                index,
                case,
                session.clone(),
                semaphore.clone(),
                gate.clone(),
                timing,
                tx.clone(),
            )),
        }
    }
    tasks.push(spawn_serial(serial, session, gate, timing, tx.clone()));
    tasks
}

/// Cases that wait on purpose start first, longest wait first, so the rest overlaps them.
fn by_start_order(planned: Vec<Planned>) -> Vec<(usize, Planned)> {
    let mut order: Vec<(usize, Planned)> = planned.into_iter().enumerate().collect();
    order.sort_by_key(|(_, p)| match p {
        Planned::Run(c) => std::cmp::Reverse(c.slow.unwrap_or_default()),
        _ => std::cmp::Reverse(Duration::ZERO),
    });
    order
}

/// A parallel case: waits for a permit, runs, reports, and lets the serial chain know.
fn spawn_parallel(
    index: usize,
    case: Arc<Case>,
    session: Arc<Session>,
    semaphore: Arc<Semaphore>,
    gate: SerialGate,
    timing: Timing,
    tx: VerdictSender,
) -> JoinHandle<()> {
    let blocks_serial = SerialGate::disturbable(&case);
    // Every case is spawned at once and most wait for a permit: the case's own future (large)
    // is boxed only once it runs, so waiting tasks stay small and the memory of finished cases
    // is reused instead of touching fresh pages.
    tokio::spawn(async move {
        let permit = semaphore.acquire_owned().await;
        let verdict = if permit.is_err() {
            deadline_verdict(&case, DEADLINE_BEFORE_START)
        } else {
            Box::pin(run_before_deadline(session, case, timing)).await
        };
        let _ = tx.send((index, verdict));
        if blocks_serial {
            gate.one_done();
        }
    })
}

/// The serial chain: one case at a time, each within the deadline, once the gate opens.
fn spawn_serial(
    serial: Vec<(usize, Arc<Case>)>,
    session: Arc<Session>,
    gate: SerialGate,
    timing: Timing,
    tx: VerdictSender,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        gate.open.notified().await;
        for (index, case) in serial {
            let verdict = Box::pin(run_before_deadline(session.clone(), case, timing)).await;
            let _ = tx.send((index, verdict));
        }
    })
}

/// Opens when every case the serial chain could disturb has finished.
#[derive(Clone)]
struct SerialGate {
    left: Arc<AtomicUsize>,
    open: Arc<Notify>,
}

impl SerialGate {
    fn new(planned: &[Planned]) -> Self {
        let left = planned
            .iter()
            .filter(|p| matches!(p, Planned::Run(c) if Self::disturbable(c)))
            .count();
        let gate = SerialGate {
            left: Arc::new(AtomicUsize::new(left)),
            open: Arc::new(Notify::new()),
        };
        if left == 0 {
            gate.open.notify_one();
        }
        gate
    }

    /// All but the slow client-only cases (C-21, C-22 only wait on the target), whose wait the
    /// serial chain then overlaps.
    fn disturbable(case: &Case) -> bool {
        !case.serial
            && (case.slow.is_none()
                || case
                    .needs
                    .iter()
                    .any(|n| matches!(n, Need::Federation | Need::FederationApi | Need::MockPeer)))
    }

    fn one_done(&self) {
        if self.left.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.open.notify_one();
        }
    }
}

const DEADLINE_BEFORE_START: &str =
    "not run: the run deadline passed before this case started (raise --deadline)";

/// A failed verdict for a case the run deadline cut off.
fn deadline_verdict(case: &Case, reason: &str) -> Verdict {
    let mut v = Verdict::skipped(case, reason);
    v.outcome = Outcome::Failed;
    v
}

/// Runs `case` unless the deadline has passed, stopping it (5 s of grace) at the deadline;
/// the verdict records when it started, relative to the run.
async fn run_before_deadline(session: Arc<Session>, case: Arc<Case>, timing: Timing) -> Verdict {
    let Timing { started, deadline } = timing;
    if Instant::now() >= deadline {
        return deadline_verdict(&case, DEADLINE_BEFORE_START);
    }
    let offset = started.elapsed();
    let grace = deadline.saturating_duration_since(Instant::now()) + Duration::from_secs(5);
    match tokio::time::timeout(grace, run_case(session, Arc::clone(&case))).await {
        Ok(mut v) => {
            v.started_at = offset;
            v
        }
        Err(_) => deadline_verdict(&case, "stopped at the run deadline (raise --deadline)"),
    }
}
