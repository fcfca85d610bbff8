//! go-plugin's own services (controller, stdio, broker) and gRPC health.

use std::pin::Pin;

use futures::Stream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use super::generated::health::health_check_response::ServingStatus;
use super::generated::health::{health_server, HealthCheckRequest, HealthCheckResponse};
use super::generated::plugin::{
    grpc_broker_server, grpc_controller_server, grpc_stdio_server, ConnInfo, Empty, StdioData,
};

type BoxStream<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send + 'static>>;

/// `plugin.GRPCController`: Shutdown asks the server to stop; the process then exits.
pub struct Controller {
    pub shutdown: CancellationToken,
    /// In debug mode the process outlives each Terraform command, so Shutdown is ignored.
    pub debug: bool,
}

#[tonic::async_trait]
impl grpc_controller_server::GrpcController for Controller {
    async fn shutdown(&self, _: Request<Empty>) -> Result<Response<Empty>, Status> {
        if self.debug {
            tracing::debug!("Shutdown ignored in debug mode");
        } else {
            tracing::debug!("Shutdown requested");
            self.shutdown.cancel();
        }
        Ok(Response::new(Empty {}))
    }
}

/// `plugin.GRPCStdio`: the provider logs to stderr directly, so the stream carries nothing
/// and ends when the server shuts down.
pub struct Stdio {
    pub shutdown: CancellationToken,
}

#[tonic::async_trait]
impl grpc_stdio_server::GrpcStdio for Stdio {
    type StreamStdioStream = BoxStream<StdioData>;

    async fn stream_stdio(
        &self,
        _: Request<()>,
    ) -> Result<Response<Self::StreamStdioStream>, Status> {
        let token = self.shutdown.clone();
        let stream = futures::stream::once(async move {
            token.cancelled().await;
        })
        .filter_map(|_| async { None });
        Ok(Response::new(Box::pin(stream)))
    }
}

use futures::StreamExt as _;

/// `plugin.GRPCBroker`: the provider brokers no extra services; the stream stays open until the
/// client closes it and answers nothing.
pub struct Broker;

#[tonic::async_trait]
impl grpc_broker_server::GrpcBroker for Broker {
    type StartStreamStream = BoxStream<ConnInfo>;

    async fn start_stream(
        &self,
        req: Request<Streaming<ConnInfo>>,
    ) -> Result<Response<Self::StartStreamStream>, Status> {
        let incoming = req.into_inner();
        let stream = incoming
            .take_while(|m| futures::future::ready(m.is_ok()))
            .filter_map(|_| async { None });
        Ok(Response::new(Box::pin(stream)))
    }
}

/// `grpc.health.v1.Health`: the server as a whole and the `plugin` service are serving.
pub struct Health;

fn status_of(service: &str) -> ServingStatus {
    if service.is_empty() || service == "plugin" {
        ServingStatus::Serving
    } else {
        ServingStatus::ServiceUnknown
    }
}

#[tonic::async_trait]
impl health_server::Health for Health {
    async fn check(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        match status_of(&req.get_ref().service) {
            ServingStatus::ServiceUnknown => Err(Status::not_found("unknown service")),
            s => Ok(Response::new(HealthCheckResponse { status: s as i32 })),
        }
    }

    type WatchStream = BoxStream<HealthCheckResponse>;

    async fn watch(
        &self,
        req: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let status = status_of(&req.get_ref().service) as i32;
        Ok(Response::new(Box::pin(futures::stream::once(async move {
            Ok(HealthCheckResponse { status })
        }))))
    }
}
