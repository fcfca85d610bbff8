//! Auto Scaling group tags: what the cluster autoscaler reads to discover a node group's
//! groups and to scale them from zero. Every call runs under the client's [`Bounds`]: a
//! cancellation or the operation's deadline ends it, whatever the SDK's retries would still do.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_autoscaling::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_autoscaling::types::{Filter, Tag};
use aws_sdk_autoscaling::Client;
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use thiserror::Error;

use super::bounds::Bounds;

/// What went wrong with Auto Scaling (throttling and 5xx were already retried).
#[derive(Clone, Debug, Error)]
#[error("{operation} on Auto Scaling group {group} {failure}")]
pub struct AutoscalingError {
    pub operation: &'static str,
    pub group: String,
    pub failure: Failure,
}

pub use super::aws::CallFailure as Failure;

/// Sends one request under `bounds`.
async fn call<T, E, F>(bounds: &Bounds, send: F) -> Result<T, Failure>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    F: Future<Output = Result<T, SdkError<E, HttpResponse>>>,
{
    super::aws::call(bounds, "Auto Scaling", send).await
}

/// How long the first read of a batch waits for others to join it.
const BATCH_WINDOW: Duration = Duration::from_millis(10);
/// Groups asked about in one DescribeTags (the API takes up to 1000 values per filter; a
/// smaller batch keeps each answer to a few pages).
const MAX_BATCH: usize = 50;

/// Tags of several groups: group name to its tags.
type GroupTags = BTreeMap<String, BTreeMap<String, String>>;
type BatchResult = Result<Arc<GroupTags>, (&'static str, Failure)>;

/// Reads of group tags collected into one DescribeTags call.
struct Batch {
    groups: Mutex<BTreeSet<String>>,
    done: tokio::sync::watch::Sender<Option<BatchResult>>,
}

/// Reads of tags that arrive together (a refresh reads many node groups at once) share one
/// DescribeTags call: the first waits [`BATCH_WINDOW`] for others, then asks for all of them.
#[derive(Default)]
struct TagBatcher {
    open: Mutex<Option<Arc<Batch>>>,
}

#[derive(Clone)]
pub struct Autoscaling {
    client: Client,
    batcher: Arc<TagBatcher>,
    bounds: Bounds,
}

impl std::fmt::Debug for Autoscaling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Autoscaling").finish_non_exhaustive()
    }
}

impl Autoscaling {
    pub fn new(client: Client) -> Self {
        Autoscaling {
            client,
            batcher: Arc::default(),
            bounds: Bounds::default(),
        }
    }

    /// The same client (sharing its batches), whose calls end when `bounds` say so.
    #[must_use]
    pub fn bounded(&self, bounds: Bounds) -> Autoscaling {
        Autoscaling {
            bounds,
            ..self.clone()
        }
    }

    /// The tags of one group whose keys start with `prefix`. Concurrent reads are answered
    /// together by one DescribeTags call.
    ///
    /// # Errors
    /// [`AutoscalingError`] when the tags cannot be read.
    pub async fn tags(
        &self,
        group: &str,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, AutoscalingError> {
        let result =
            self.bounds
                .run(self.batched(group))
                .await
                .map_err(|cut| AutoscalingError {
                    operation: "DescribeTags",
                    group: group.to_string(),
                    failure: cut.into(),
                })?;
        match result {
            Some(Ok(all)) => Ok(all
                .get(group)
                .map(|tags| {
                    tags.iter()
                        .filter(|(k, _)| k.starts_with(prefix))
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect()
                })
                .unwrap_or_default()),
            Some(Err((operation, failure))) => Err(AutoscalingError {
                operation,
                group: group.to_string(),
                failure,
            }),
            // The batch's reader went away before answering: ask alone.
            None => self.tags_now(group, prefix).await,
        }
    }

    /// Joins the open batch, or opens one, whose read runs as its own task after the window
    /// (so that no caller going away can leave the others waiting). None only when that task
    /// could not answer (the runtime shutting down).
    async fn batched(&self, group: &str) -> Option<BatchResult> {
        let mut rx = {
            let mut open = self.batcher.open.lock().unwrap_or_else(|p| p.into_inner());
            let joined = open.as_ref().and_then(|b| {
                let mut groups = b.groups.lock().unwrap_or_else(|p| p.into_inner());
                (groups.len() < MAX_BATCH).then(|| {
                    groups.insert(group.to_string());
                    b.done.subscribe()
                })
            });
            match joined {
                Some(rx) => rx,
                None => {
                    let (done, rx) = tokio::sync::watch::channel(None);
                    let batch = Arc::new(Batch {
                        groups: Mutex::new(BTreeSet::from([group.to_string()])),
                        done,
                    });
                    *open = Some(batch.clone());
                    // Not under this caller's bounds: each member bounds its own wait, and the
                    // read ends when the last of them stops waiting.
                    tokio::spawn(self.bounded(Bounds::default()).read_batch(batch));
                    rx
                }
            }
        };
        rx.wait_for(Option::is_some)
            .await
            .ok()
            .and_then(|r| r.clone())
    }

    /// Waits for the batch to fill, closes it, reads it and answers every member; gives up
    /// the read when no member waits for it any more (each was cancelled or ran out of time).
    async fn read_batch(self, batch: Arc<Batch>) {
        tokio::time::sleep(BATCH_WINDOW).await;
        {
            let mut open = self.batcher.open.lock().unwrap_or_else(|p| p.into_inner());
            if open.as_ref().is_some_and(|b| Arc::ptr_eq(b, &batch)) {
                *open = None;
            }
        }
        let groups: Vec<String> = batch
            .groups
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .cloned()
            .collect();
        let result = tokio::select! {
            r = self.describe_tags(&groups) => r.map(Arc::new).map_err(|e| (e.operation, e.failure)),
            _ = batch.done.closed() => return,
        };
        batch.done.send_replace(Some(result));
    }

    /// All tags of `groups`, in one DescribeTags (and its pages).
    async fn describe_tags(&self, groups: &[String]) -> Result<GroupTags, AutoscalingError> {
        let mut out: GroupTags = groups
            .iter()
            .map(|g| (g.clone(), BTreeMap::new()))
            .collect();
        let mut token: Option<String> = None;
        loop {
            let resp = call(
                &self.bounds,
                self.client
                    .describe_tags()
                    .filters(
                        Filter::builder()
                            .name("auto-scaling-group")
                            .set_values(Some(groups.to_vec()))
                            .build(),
                    )
                    .max_records(100)
                    .set_next_token(token.clone())
                    .send(),
            )
            .await
            .map_err(|failure| AutoscalingError {
                operation: "DescribeTags",
                group: groups.join(", "),
                failure,
            })?;
            for t in resp.tags() {
                if let (Some(g), Some(k), Some(v)) = (t.resource_id(), t.key(), t.value()) {
                    if let Some(tags) = out.get_mut(g) {
                        tags.insert(k.to_string(), v.to_string());
                    }
                }
            }
            token = resp.next_token().map(str::to_string);
            if token.is_none() {
                return Ok(out);
            }
        }
    }

    /// The tags of one group under `prefix`, read now, on its own.
    async fn tags_now(
        &self,
        group: &str,
        prefix: &str,
    ) -> Result<BTreeMap<String, String>, AutoscalingError> {
        let mut all = self
            .describe_tags(&[group.to_string()])
            .await
            .map_err(|e| AutoscalingError {
                group: group.to_string(),
                ..e
            })?;
        Ok(all
            .remove(group)
            .unwrap_or_default()
            .into_iter()
            .filter(|(k, _)| k.starts_with(prefix))
            .collect())
    }

    /// Makes the group's tags under `prefix` exactly `wanted`.
    ///
    /// # Errors
    /// [`AutoscalingError`] when tags cannot be read or written.
    pub async fn sync_tags(
        &self,
        group: &str,
        prefix: &str,
        wanted: &BTreeMap<String, String>,
    ) -> Result<(), AutoscalingError> {
        // Read now, not batched: the write follows at once.
        let current = self.tags_now(group, prefix).await?;
        let tag = |k: &str, v: Option<&str>| {
            Tag::builder()
                .resource_id(group)
                .resource_type("auto-scaling-group")
                .key(k)
                .set_value(v.map(str::to_string))
                .propagate_at_launch(false)
                .build()
        };
        let stale: Vec<Tag> = current
            .keys()
            .filter(|k| !wanted.contains_key(*k))
            .map(|k| tag(k, None))
            .collect();
        let failed = |operation| {
            move |failure| AutoscalingError {
                operation,
                group: group.to_string(),
                failure,
            }
        };
        if !stale.is_empty() {
            call(
                &self.bounds,
                self.client.delete_tags().set_tags(Some(stale)).send(),
            )
            .await
            .map_err(failed("DeleteTags"))?;
        }
        let changed: Vec<Tag> = wanted
            .iter()
            .filter(|(k, v)| current.get(*k) != Some(*v))
            .map(|(k, v)| tag(k, Some(v)))
            .collect();
        if !changed.is_empty() {
            call(
                &self.bounds,
                self.client
                    .create_or_update_tags()
                    .set_tags(Some(changed))
                    .send(),
            )
            .await
            .map_err(failed("CreateOrUpdateTags"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A loopback stand-in for the Auto Scaling query API's DescribeTags: every group has the
    /// tags `owner=<group>` and `k8s.io/x=1`; a group named `broken` makes the call fail.
    /// Returns its URL, the groups asked for by each request, and the request counter.
    async fn stub() -> (
        String,
        Arc<Mutex<Vec<Vec<String>>>>,
        Arc<AtomicUsize>,
        tokio::task::JoinHandle<()>,
    ) {
        use tokio::io::AsyncWriteExt;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let asked = Arc::new(Mutex::new(Vec::new()));
        let count = Arc::new(AtomicUsize::new(0));
        let (asked2, count2) = (asked.clone(), count.clone());
        let task = tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let (asked, count) = (asked2.clone(), count2.clone());
                tokio::spawn(async move {
                    loop {
                        let Some((_, body)) =
                            crate::clients::test_http::read_request(&mut conn).await
                        else {
                            return;
                        };
                        let groups: Vec<String> = body
                            .split('&')
                            .filter_map(|kv| kv.split_once('='))
                            .filter(|(k, _)| k.starts_with("Filters.member.1.Values.member."))
                            .map(|(_, v)| v.to_string())
                            .collect();
                        count.fetch_add(1, Ordering::SeqCst);
                        if let Ok(mut a) = asked.lock() {
                            a.push(groups.clone());
                        }
                        let (status, xml) = if let Some((status, kind, code)) =
                            groups.iter().find_map(|g| match g.as_str() {
                                "unavailable" => Some((503, "Receiver", "ServiceUnavailable")),
                                "throttled" => Some((400, "Sender", "Throttling")),
                                _ => None,
                            }) {
                            (
                                status,
                                format!(
                                    "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>\
                                     <Message>try again</Message></Error><RequestId>r</RequestId>\
                                     </ErrorResponse>"
                                ),
                            )
                        } else if groups.iter().any(|g| g == "broken") {
                            (
                                400,
                                "<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code>\
                                 <Message>bad group</Message></Error><RequestId>r</RequestId>\
                                 </ErrorResponse>"
                                    .to_string(),
                            )
                        } else {
                            let members: String = groups
                                .iter()
                                .flat_map(|g| {
                                    [("owner", g.as_str()), ("k8s.io/x", "1")].map(|(k, v)| {
                                        format!(
                                            "<member><ResourceId>{g}</ResourceId>\
                                             <ResourceType>auto-scaling-group</ResourceType>\
                                             <Key>{k}</Key><Value>{v}</Value>\
                                             <PropagateAtLaunch>false</PropagateAtLaunch></member>"
                                        )
                                    })
                                })
                                .collect();
                            (
                                200,
                                format!(
                                    "<DescribeTagsResponse xmlns=\"http://autoscaling.amazonaws.com/doc/2011-01-01/\">\
                                     <DescribeTagsResult><Tags>{members}</Tags></DescribeTagsResult>\
                                     <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata>\
                                     </DescribeTagsResponse>"
                                ),
                            )
                        };
                        let reply = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: text/xml\r\ncontent-length: {}\r\n\r\n{xml}",
                            xml.len()
                        );
                        if conn.write_all(reply.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, asked, count, task)
    }

    fn client(url: &str) -> Autoscaling {
        use aws_sdk_autoscaling::config::{BehaviorVersion, Credentials, Region};
        let conf = aws_sdk_autoscaling::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(url)
            .region(Region::new("eu-central-1"))
            .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
            .build();
        Autoscaling::new(Client::from_conf(conf))
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime")
    }

    #[test]
    fn concurrent_reads_share_one_describe_tags_and_get_their_own_tags() {
        runtime().block_on(async {
            let (url, asked, count, task) = stub().await;
            let asg = client(&url);
            let reads = (0..60).map(|i| {
                let asg = asg.clone();
                async move {
                    let g = format!("g{i:02}");
                    (g.clone(), asg.tags(&g, "k8s.io/").await)
                }
            });
            let results = futures::future::join_all(reads).await;
            for (g, tags) in results {
                let tags = tags.expect("tags");
                // Only the group's own tags, only under the prefix.
                assert_eq!(
                    tags,
                    BTreeMap::from([("k8s.io/x".to_string(), "1".to_string())]),
                    "{g}"
                );
            }
            // 60 reads, batches of at most 50: two calls.
            assert_eq!(count.load(Ordering::SeqCst), 2);
            let asked = asked.lock().map(|a| a.clone()).unwrap_or_default();
            assert!(asked.iter().all(|b| b.len() <= MAX_BATCH), "{asked:?}");
            assert_eq!(asked.iter().map(Vec::len).sum::<usize>(), 60);
            // A read after the batches were answered asks again (no stale cache).
            let again = asg.tags("g07", "owner").await.expect("tags");
            assert_eq!(again.get("owner").map(String::as_str), Some("g07"));
            assert_eq!(count.load(Ordering::SeqCst), 3);
            task.abort();
        });
    }

    /// Under sustained throttling or server errors every call still gets all its attempts (the
    /// retry partition of the provider's clients has no quota to run dry).
    #[test]
    fn throttling_and_server_errors_are_retried_whatever_came_before() {
        use aws_sdk_autoscaling::config::retry::RetryConfig;
        use aws_sdk_autoscaling::config::{BehaviorVersion, Credentials, Region};
        runtime().block_on(async {
            for group in ["unavailable", "throttled"] {
                let (url, _, count, task) = stub().await;
                let conf = aws_sdk_autoscaling::Config::builder()
                    .behavior_version(BehaviorVersion::latest())
                    .endpoint_url(&url)
                    .region(Region::new("eu-central-1"))
                    .credentials_provider(Credentials::new("AKID", "secret", None, None, "test"))
                    .retry_config(
                        RetryConfig::standard()
                            .with_max_attempts(3)
                            .with_initial_backoff(Duration::from_millis(1))
                            .with_max_backoff(Duration::from_millis(2)),
                    )
                    .retry_partition(crate::clients::aws::retry_partition("autoscaling-test"))
                    .build();
                let asg = Autoscaling::new(Client::from_conf(conf));
                for _ in 0..60 {
                    assert!(asg.tags(group, "").await.is_err());
                }
                assert_eq!(count.load(Ordering::SeqCst), 180, "{group}");
                task.abort();
            }
        });
    }

    #[test]
    fn a_failed_batch_fails_each_read_with_its_own_group() {
        runtime().block_on(async {
            let (url, _, _, task) = stub().await;
            let asg = client(&url);
            let (a, b) = tokio::join!(asg.tags("broken", ""), asg.tags("fine", ""));
            let a = a.expect_err("the batch failed");
            let b = b.expect_err("the batch failed");
            assert_eq!((a.group.as_str(), b.group.as_str()), ("broken", "fine"));
            assert!(
                matches!(&a.failure, Failure::Api { code, .. } if code == "ValidationError"),
                "{a}"
            );
            // Writing reads the group alone, so one bad group elsewhere does not matter.
            let wanted = BTreeMap::from([("k8s.io/x".to_string(), "1".to_string())]);
            assert!(asg.sync_tags("fine", "k8s.io/", &wanted).await.is_ok());
            task.abort();
        });
    }
}
