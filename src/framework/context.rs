//! The context every resource operation runs in: the configured provider data, what is
//! shared between the operations of one configuration, and the cancellation that
//! StopProvider (Ctrl-C in Terraform) triggers.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use thiserror::Error;
use tokio_util::sync::CancellationToken;

/// The operation was cancelled because Terraform asked the provider to stop.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
#[error("the operation was cancelled: Terraform asked the provider to stop")]
pub struct Cancelled;

/// Values built once per provider configuration and shared by every operation that runs
/// under it, one per type: typically clients, whose connection pools and TLS settings are
/// costly to rebuild for each call. A new configuration starts empty.
#[derive(Default)]
pub struct Shared {
    slots: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl std::fmt::Debug for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Shared").finish_non_exhaustive()
    }
}

impl Shared {
    /// The value of type `T`, built by `init` on first use. Concurrent first uses wait for
    /// one `init`; a failed `init` stores nothing, so the next use tries again.
    ///
    /// # Errors
    /// What `init` returned.
    pub async fn get_or_try_init<T, E, F, Fut>(&self, init: F) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        let slot = {
            let mut slots = self.slots.lock().unwrap_or_else(|p| p.into_inner());
            slots
                .entry(TypeId::of::<T>())
                .or_insert_with(|| Arc::new(tokio::sync::OnceCell::<T>::new()))
                .clone()
        };
        let cell = slot
            .downcast_ref::<tokio::sync::OnceCell<T>>()
            .expect("slots are keyed by their type");
        cell.get_or_try_init(init).await.cloned()
    }
}

/// Handed to every create, read, update, delete, import and data-source read.
pub struct Context<D> {
    data: Arc<D>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
}

impl<D> Clone for Context<D> {
    fn clone(&self) -> Self {
        Context {
            data: self.data.clone(),
            shared: self.shared.clone(),
            cancel: self.cancel.clone(),
        }
    }
}

impl<D> Context<D> {
    /// A context with nothing shared yet (each such context has its own [`Shared`]).
    pub fn new(data: Arc<D>, cancel: CancellationToken) -> Self {
        Context::with_shared(data, Arc::new(Shared::default()), cancel)
    }

    /// A context whose operations share `shared` with every other context of the same
    /// configuration.
    pub fn with_shared(data: Arc<D>, shared: Arc<Shared>, cancel: CancellationToken) -> Self {
        Context {
            data,
            shared,
            cancel,
        }
    }

    /// Built once per provider configuration: see [`Shared::get_or_try_init`].
    ///
    /// # Errors
    /// What `init` returned.
    pub async fn shared<T, E, F, Fut>(&self, init: F) -> Result<T, E>
    where
        T: Clone + Send + Sync + 'static,
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<T, E>>,
    {
        self.shared.get_or_try_init(init).await
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Clone, Debug, PartialEq)]
    struct Client(usize);

    #[test]
    fn built_once_per_configuration_and_retried_after_a_failure() {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let builds = Arc::new(AtomicUsize::new(0));
        let shared = Arc::new(Shared::default());
        let ctx = Context::with_shared(Arc::new(()), shared.clone(), CancellationToken::new());
        let failed: Result<Client, &str> = rt.block_on(ctx.shared(|| async { Err("not yet") }));
        assert_eq!(failed, Err("not yet"));
        let got: Vec<Client> = rt.block_on(async {
            let tasks: Vec<_> = (0..8)
                .map(|_| {
                    let ctx = ctx.clone();
                    let builds = builds.clone();
                    tokio::spawn(async move {
                        ctx.shared(|| async move {
                            tokio::time::sleep(Duration::from_millis(20)).await;
                            Ok::<_, ()>(Client(builds.fetch_add(1, Ordering::SeqCst)))
                        })
                        .await
                        .unwrap()
                    })
                })
                .collect();
            futures::future::join_all(tasks)
                .await
                .into_iter()
                .map(Result::unwrap)
                .collect()
        });
        assert_eq!(builds.load(Ordering::SeqCst), 1);
        assert!(got.iter().all(|c| *c == Client(0)));
        // Another context of the same configuration sees it; one of a new configuration does not.
        let same = Context::with_shared(Arc::new(()), shared, CancellationToken::new());
        let other = Context::new(Arc::new(()), CancellationToken::new());
        let get = |c: &Context<()>| rt.block_on(c.shared(|| async { Ok::<_, ()>(Client(99)) }));
        assert_eq!(get(&same), Ok(Client(0)));
        assert_eq!(get(&other), Ok(Client(99)));
        // One value per type.
        let n: Result<u32, ()> = rt.block_on(same.shared(|| async { Ok(7) }));
        assert_eq!(n, Ok(7));
    }
}
