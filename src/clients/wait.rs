//! Polling with backoff, bounded by a deadline and cancellable.

use std::future::Future;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

/// How often to poll: starting interval, growth factor and cap.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    pub initial: Duration,
    pub factor: f64,
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            initial: Duration::from_millis(500),
            factor: 1.6,
            max: Duration::from_secs(30),
        }
    }
}

/// Why a wait ended without reaching its goal.
#[derive(Debug, PartialEq)]
pub enum WaitEnd<E> {
    /// The deadline passed; the last observed state is described.
    TimedOut { waited: Duration, last: String },
    /// Terraform asked the provider to stop.
    Cancelled,
    /// The poll itself failed, or reported a terminal failure.
    Failed(E),
}

/// What one poll found.
pub enum Poll<T> {
    Done(T),
    /// Not yet; the text says what state it is in.
    Pending(String),
}

/// Polls `check` until it is done, fails, the `timeout` passes or `cancel` fires.
///
/// # Errors
/// [`WaitEnd`] describing why the wait ended early.
pub async fn until<T, E, F, Fut>(
    timeout: Duration,
    backoff: Backoff,
    cancel: &CancellationToken,
    mut check: F,
) -> Result<T, WaitEnd<E>>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<Poll<T>, E>>,
{
    let start = Instant::now();
    let cancelled = || {
        tracing::info!(
            waited = ?start.elapsed(),
            "wait cancelled: Terraform asked the provider to stop"
        );
        Err(WaitEnd::Cancelled)
    };
    let mut interval = backoff.initial;
    loop {
        let last = tokio::select! {
            _ = cancel.cancelled() => return cancelled(),
            r = check() => match r {
                Ok(Poll::Done(t)) => return Ok(t),
                Ok(Poll::Pending(state)) => state,
                Err(e) => return Err(WaitEnd::Failed(e)),
            },
        };
        let elapsed = start.elapsed();
        if elapsed >= timeout {
            return Err(WaitEnd::TimedOut {
                waited: elapsed,
                last,
            });
        }
        let nap = interval.min(timeout - elapsed);
        tokio::select! {
            _ = cancel.cancelled() => return cancelled(),
            _ = tokio::time::sleep(nap) => {}
        }
        interval = Duration::from_secs_f64(
            (interval.as_secs_f64() * backoff.factor).min(backoff.max.as_secs_f64()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn fast() -> Backoff {
        Backoff {
            initial: Duration::from_millis(5),
            factor: 2.0,
            max: Duration::from_millis(20),
        }
    }

    #[tokio::test]
    async fn polls_until_done() {
        let n = AtomicUsize::new(0);
        let r: Result<usize, WaitEnd<()>> = until(
            Duration::from_secs(5),
            fast(),
            &CancellationToken::new(),
            || async {
                let i = n.fetch_add(1, Ordering::SeqCst);
                Ok(if i < 3 {
                    Poll::Pending(format!("try {i}"))
                } else {
                    Poll::Done(i)
                })
            },
        )
        .await;
        assert_eq!(r, Ok(3));
    }

    #[tokio::test]
    async fn times_out_with_the_last_state() {
        let r: Result<(), WaitEnd<()>> = until(
            Duration::from_millis(50),
            fast(),
            &CancellationToken::new(),
            || async { Ok(Poll::Pending("CREATING".into())) },
        )
        .await;
        match r {
            Err(WaitEnd::TimedOut { last, waited }) => {
                assert_eq!(last, "CREATING");
                assert!(waited >= Duration::from_millis(50));
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn cancels_promptly() {
        let cancel = CancellationToken::new();
        let c = cancel.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(30)).await;
            c.cancel();
        });
        let start = Instant::now();
        let slow = Backoff {
            initial: Duration::from_secs(10),
            ..fast()
        };
        let r: Result<(), WaitEnd<()>> = until(Duration::from_secs(60), slow, &cancel, || async {
            Ok(Poll::Pending("x".into()))
        })
        .await;
        assert_eq!(r, Err(WaitEnd::Cancelled));
        assert!(start.elapsed() < Duration::from_secs(1));
    }

    #[tokio::test]
    async fn failures_end_the_wait() {
        let r: Result<(), WaitEnd<&str>> = until(
            Duration::from_secs(5),
            fast(),
            &CancellationToken::new(),
            || async { Err("boom") },
        )
        .await;
        assert_eq!(r, Err(WaitEnd::Failed("boom")));
    }
}
