//! What bounds an operation made of several cloud calls: a cancellation (Terraform's
//! StopProvider) and an overall deadline. Every call an operation makes runs under them, the
//! SDK's own retries included, so neither a slow answer nor a long series of retries outlasts
//! either.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// The limit used when an operation sets none: no wait, however patient, is unbounded.
pub const DEFAULT_LIMIT: Duration = Duration::from_secs(60 * 60);

/// Why a bounded call or wait ended without an answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// The caller asked to stop.
    Cancelled,
    /// The operation's deadline passed; `after` is how long the operation had run.
    TimedOut { after: Duration },
}

/// A cancellation and a deadline, shared by every call of one operation.
#[derive(Clone, Debug)]
pub struct Bounds {
    cancel: CancellationToken,
    started: Instant,
    deadline: Instant,
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds::new(CancellationToken::new(), DEFAULT_LIMIT)
    }
}

impl Bounds {
    /// An operation starting now that may run for `limit`, or until `cancel` fires.
    pub fn new(cancel: CancellationToken, limit: Duration) -> Bounds {
        let started = Instant::now();
        Bounds {
            cancel,
            started,
            deadline: started
                .checked_add(limit)
                .unwrap_or(started + DEFAULT_LIMIT),
        }
    }

    /// The token that fires when the operation is asked to stop.
    pub fn cancel_token(&self) -> &CancellationToken {
        &self.cancel
    }

    /// How long the operation has left (zero once its deadline passed).
    pub fn remaining(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }

    /// How long the operation has run.
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }

    /// Why the operation may not go on, if it may not: cancelled, or out of time.
    pub fn check(&self) -> Result<(), Cut> {
        if self.cancel.is_cancelled() {
            Err(Cut::Cancelled)
        } else if Instant::now() >= self.deadline {
            Err(Cut::TimedOut {
                after: self.elapsed(),
            })
        } else {
            Ok(())
        }
    }

    /// Runs `fut` until it completes, the operation is cancelled or its deadline passes,
    /// whichever comes first (a cancellation wins a tie). `fut` is dropped when cut short.
    ///
    /// # Errors
    /// [`Cut`] saying why `fut` was not allowed to finish.
    pub async fn run<F: Future>(&self, fut: F) -> Result<F::Output, Cut> {
        self.check()?;
        tokio::select! {
            biased;
            _ = self.cancel.cancelled() => Err(Cut::Cancelled),
            _ = tokio::time::sleep_until(self.deadline.into()) => Err(Cut::TimedOut {
                after: self.elapsed(),
            }),
            out = fut => Ok(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_call_ends_when_cancelled() {
        let cancel = CancellationToken::new();
        let bounds = Bounds::new(cancel.clone(), Duration::from_secs(60));
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            c.cancel();
        });
        let start = Instant::now();
        let out = bounds
            .run(tokio::time::sleep(Duration::from_secs(30)))
            .await;
        assert_eq!(out, Err(Cut::Cancelled));
        assert!(start.elapsed() < Duration::from_secs(1));
        // Later calls of the same operation do not start.
        assert_eq!(bounds.run(async { 1 }).await, Err(Cut::Cancelled));
    }

    #[tokio::test]
    async fn a_call_ends_at_the_deadline_of_its_operation() {
        let bounds = Bounds::new(CancellationToken::new(), Duration::from_millis(50));
        let out = bounds
            .run(tokio::time::sleep(Duration::from_secs(30)))
            .await;
        match out {
            Err(Cut::TimedOut { after }) => {
                assert!(after >= Duration::from_millis(50) && after < Duration::from_secs(1))
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(bounds.remaining(), Duration::ZERO);
        assert!(matches!(bounds.check(), Err(Cut::TimedOut { .. })));
    }

    #[tokio::test]
    async fn a_call_in_time_returns_its_answer() {
        let bounds = Bounds::new(CancellationToken::new(), Duration::from_secs(5));
        assert_eq!(bounds.run(async { 7 }).await, Ok(7));
        assert!(bounds.remaining() > Duration::from_secs(4));
    }
}
