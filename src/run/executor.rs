//! The run: preflight ([`super::preflight`]), then the cases ([`super::schedule`]), their
//! verdicts put back in plan order with the baseline applied, and an interrupt that still
//! returns every verdict (unfinished cases `interrupted`) so the reports are written.

use std::sync::Arc;

use super::config::RunConfig;
use super::event::Event;
use super::preflight::{PreflightError, Prepared};
use super::schedule::{Timing, spawn_cases};
use crate::baseline::Baseline;
use crate::outcome::{Outcome, Summary, Verdict};
use crate::suite::{Case, Suite};

/// Runs the suite against the target. Events go to `on_event` in order; the verdicts come back
/// in plan order.
pub async fn execute(
    config: RunConfig,
    suite: Suite,
    on_event: &mut (dyn FnMut(Event) + Send),
    mut interrupt: tokio::sync::watch::Receiver<bool>,
) -> Result<Vec<Verdict>, RunError> {
    let prepared = tokio::select! {
        prepared = super::preflight::prepare(&config, suite, on_event) => prepared.map_err(RunError::Preflight)?,
        () = interrupted(&mut interrupt) => return Err(RunError::Interrupted),
    };
    Ok(run_cases(&config, prepared, on_event, interrupt).await)
}

/// Why a run produced no verdicts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Preflight(PreflightError),
    /// SIGINT or SIGTERM arrived before the first case started.
    #[error("interrupted during preflight (no case had started)")]
    Interrupted,
}

/// Resolves once the interrupt flag is set (never, if its sender is gone without setting it).
async fn interrupted(interrupt: &mut tokio::sync::watch::Receiver<bool>) {
    if interrupt.wait_for(|set| *set).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// The cases, in parallel, under the deadline; on an interrupt, unfinished cases are marked
/// `interrupted` at once and the verdicts still come back (so reports are written).
async fn run_cases(
    config: &RunConfig,
    prepared: Prepared,
    on_event: &mut (dyn FnMut(Event) + Send),
    mut interrupt: tokio::sync::watch::Receiver<bool>,
) -> Vec<Verdict> {
    let Prepared {
        session,
        planned,
        started,
        page,
        peer,
    } = prepared;
    let timing = Timing {
        started,
        deadline: started + config.deadline,
    };
    // Every case by plan index, to report the ones an interrupt leaves unfinished.
    let cases: Vec<Arc<Case>> = planned.iter().map(|p| Arc::clone(p.case())).collect();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Verdict)>();
    let tasks = spawn_cases(Arc::new(session), planned, config.jobs, timing, &tx);
    drop(tx);
    let mut order = PlanOrder::new(cases.len(), &config.baseline);
    let mut stopped = *interrupt.borrow();
    while !stopped {
        tokio::select! {
            message = rx.recv() => match message {
                Some((index, verdict)) => order.finish(index, verdict, on_event),
                None => break,
            },
            () = interrupted(&mut interrupt) => stopped = true,
        }
    }
    if stopped {
        // Stop every case still running (their requests are dropped with them), then report
        // each unfinished case as interrupted, in plan order.
        for task in &tasks {
            task.abort();
        }
        while let Ok((index, verdict)) = rx.try_recv() {
            order.finish(index, verdict, on_event);
        }
        order.interrupt_unfinished(&cases, on_event);
    }
    drop(page);
    drop(peer);
    let verdicts = order.into_verdicts();
    on_event(Event::RunFinished {
        summary: Summary::of(&verdicts),
        elapsed: started.elapsed(),
        causes: crate::rootcause::root_causes(&verdicts),
    });
    verdicts
}

/// Verdicts as they finish, released to the reports in plan order, the baseline applied.
struct PlanOrder<'a> {
    verdicts: Vec<Option<Verdict>>,
    released: usize,
    baseline: &'a Baseline,
}

impl<'a> PlanOrder<'a> {
    fn new(cases: usize, baseline: &'a Baseline) -> Self {
        PlanOrder {
            verdicts: vec![None; cases],
            released: 0,
            baseline,
        }
    }

    fn finish(&mut self, index: usize, verdict: Verdict, on_event: &mut (dyn FnMut(Event) + Send)) {
        let verdict = with_baseline(verdict, self.baseline);
        on_event(Event::CaseCompleted {
            id: verdict.id.clone(),
        });
        if let Some(slot) = self.verdicts.get_mut(index) {
            *slot = Some(verdict);
        }
        // Reports see verdicts in plan order, whatever order the cases finished in.
        while let Some(Some(v)) = self.verdicts.get(self.released) {
            on_event(Event::CaseFinished(Box::new(v.clone())));
            self.released += 1;
        }
    }

    /// Every case without a verdict yet becomes `interrupted`.
    fn interrupt_unfinished(
        &mut self,
        cases: &[Arc<Case>],
        on_event: &mut (dyn FnMut(Event) + Send),
    ) {
        for (index, case) in cases.iter().enumerate() {
            if self.verdicts[index].is_none() {
                let mut v = Verdict::skipped(
                    case,
                    "interrupted (SIGINT or SIGTERM) before the case finished",
                );
                v.outcome = Outcome::Interrupted;
                self.finish(index, v, on_event);
            }
        }
    }

    fn into_verdicts(self) -> Vec<Verdict> {
        self.verdicts.into_iter().flatten().collect()
    }
}

/// The verdict with the baseline's judgement: expected failure, unexpected pass, or as it was.
fn with_baseline(mut verdict: Verdict, baseline: &Baseline) -> Verdict {
    let (outcome, baseline_reason) = baseline.apply(&verdict.id, verdict.outcome);
    if let Some(reason) = baseline_reason {
        verdict.reason = match outcome {
            Outcome::UnexpectedPass => {
                format!("listed in the baseline ({reason}) but passed: remove it from the baseline")
            }
            _ if verdict.reason.is_empty() => format!("baseline: {reason}"),
            _ => format!("{} [baseline: {reason}]", verdict.reason),
        };
    }
    verdict.outcome = outcome;
    verdict
}
