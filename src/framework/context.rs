//! The context every resource operation runs in: the configured provider data, and the
//! cancellation that StopProvider (Ctrl-C in Terraform) triggers.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use thiserror::Error;
use tokio_util::sync::CancellationToken;

/// The operation was cancelled because Terraform asked the provider to stop.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the operation was cancelled: Terraform asked the provider to stop")]
pub struct Cancelled;

/// Handed to every create, read, update, delete, import and data-source read.
pub struct Context<D> {
    data: Arc<D>,
    cancel: CancellationToken,
}

impl<D> Clone for Context<D> {
    fn clone(&self) -> Self {
        Context {
            data: self.data.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

impl<D> Context<D> {
    pub fn new(data: Arc<D>, cancel: CancellationToken) -> Self {
        Context { data, cancel }
    }

    /// What the provider's Configure produced (clients, settings).
    pub fn data(&self) -> &D {
        &self.data
    }

    pub fn data_arc(&self) -> Arc<D> {
        self.data.clone()
    }

    /// A token cancelled when Terraform asks the provider to stop, for clients that wait.
    pub fn cancellation_token(&self) -> CancellationToken {
        self.cancel.clone()
    }

    pub fn is_cancelled(&self) -> bool {
        self.cancel.is_cancelled()
    }

    /// Completes when the operation is cancelled.
    pub async fn cancelled(&self) {
        self.cancel.cancelled().await
    }

    /// Sleeps, or returns early with [`Cancelled`].
    ///
    /// # Errors
    /// [`Cancelled`] when Terraform asked the provider to stop.
    pub async fn sleep(&self, d: Duration) -> Result<(), Cancelled> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Cancelled),
            _ = tokio::time::sleep(d) => Ok(()),
        }
    }

    /// Runs a future, or returns early with [`Cancelled`].
    ///
    /// # Errors
    /// [`Cancelled`] when Terraform asked the provider to stop first.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> Result<T, Cancelled> {
        tokio::select! {
            _ = self.cancel.cancelled() => Err(Cancelled),
            v = fut => Ok(v),
        }
    }
}
