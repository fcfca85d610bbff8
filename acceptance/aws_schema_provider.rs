//! A test-only stand-in for the AWS provider (`hashicorp/aws`) that serves its schema and
//! nothing else, for the `moved` tests: Terraform loads the schema of every provider a state
//! names (here, the source of a `moved` block across types) but never calls the source
//! provider for the move itself. The AWS provider cannot be installed on these machines.
//!
//! `aws_eks_node_group` is declared as the AWS provider's SDKv2 schema (version 0) stores it:
//! blocks as lists, `taint` as a set; `aws_autoscaling_group` with a few attributes, enough
//! to hold a state that cannot be moved. Any call that would touch AWS fails.
//! Never shipped: built with `cargo build --examples`.

use std::process::ExitCode;
use std::sync::Arc;

use async_trait::async_trait;
use dataplatform::framework::schema::{Attribute, Block, BlockNesting, NestedBlock, Schema};
use dataplatform::framework::{
    ApplyResult, Context, CreateRequest, DataSourceList, DeleteRequest, Diagnostic, Diagnostics,
    Provider, ReadRequest, ReadResult, Resource, ResourceList, UpdateRequest,
};
use dataplatform::protocol::{self, handshake};
use dataplatform::value::{Type, Value};

struct AwsSchemaProvider;

fn refused() -> Diagnostic {
    Diagnostic::error(
        "Schema-only stand-in",
        "This stand-in for the AWS provider serves schemas only; it cannot read or change anything.",
    )
}

fn strings() -> Type {
    Type::List(Box::new(Type::String))
}

fn string_map() -> Type {
    Type::Map(Box::new(Type::String))
}

fn node_group() -> Block {
    let s = |n: &str| Attribute::optional_computed(n, Type::String);
    Block::new()
        .attribute(Attribute::computed("id", Type::String))
        .attribute(Attribute::optional("region", Type::String))
        .attribute(s("ami_type"))
        .attribute(Attribute::computed("arn", Type::String))
        .attribute(s("capacity_type"))
        .attribute(Attribute::required("cluster_name", Type::String))
        .attribute(Attribute::optional_computed("disk_size", Type::Number))
        .attribute(Attribute::optional("force_update_version", Type::Bool))
        .attribute(Attribute::optional_computed("instance_types", strings()))
        .attribute(Attribute::optional("labels", string_map()))
        .attribute(s("node_group_name"))
        .attribute(s("node_group_name_prefix"))
        .attribute(Attribute::required("node_role_arn", Type::String))
        .attribute(s("release_version"))
        .attribute(Attribute::computed("status", Type::String))
        .attribute(Attribute::required(
            "subnet_ids",
            Type::Set(Box::new(Type::String)),
        ))
        .attribute(Attribute::optional("tags", string_map()))
        .attribute(Attribute::computed("tags_all", string_map()))
        .attribute(s("version"))
        .attribute(Attribute::computed(
            "resources",
            Type::List(Box::new(Type::object([
                (
                    "autoscaling_groups",
                    Type::List(Box::new(Type::object([("name", Type::String)]))),
                ),
                ("remote_access_security_group_id", Type::String),
            ]))),
        ))
        .block(
            NestedBlock::list(
                "launch_template",
                Block::new()
                    .attribute(s("id"))
                    .attribute(s("name"))
                    .attribute(Attribute::required("version", Type::String)),
            )
            .items(0, 1),
        )
        .block(
            NestedBlock::list(
                "node_repair_config",
                Block::new().attribute(Attribute::optional("enabled", Type::Bool)),
            )
            .items(0, 1),
        )
        .block(
            NestedBlock::list(
                "remote_access",
                Block::new()
                    .attribute(Attribute::optional("ec2_ssh_key", Type::String))
                    .attribute(Attribute::optional(
                        "source_security_group_ids",
                        Type::Set(Box::new(Type::String)),
                    )),
            )
            .items(0, 1),
        )
        .block(
            NestedBlock::list(
                "scaling_config",
                Block::new()
                    .attribute(Attribute::required("desired_size", Type::Number))
                    .attribute(Attribute::required("max_size", Type::Number))
                    .attribute(Attribute::required("min_size", Type::Number)),
            )
            .items(1, 1),
        )
        .block(NestedBlock::new(
            "taint",
            BlockNesting::Set,
            Block::new()
                .attribute(Attribute::required("key", Type::String))
                .attribute(Attribute::optional("value", Type::String))
                .attribute(Attribute::required("effect", Type::String)),
        ))
        .block(
            NestedBlock::list(
                "update_config",
                Block::new()
                    .attribute(Attribute::optional("max_unavailable", Type::Number))
                    .attribute(Attribute::optional(
                        "max_unavailable_percentage",
                        Type::Number,
                    )),
            )
            .items(0, 1),
        )
        .block(NestedBlock::single(
            "timeouts",
            Block::new()
                .attribute(Attribute::optional("create", Type::String))
                .attribute(Attribute::optional("update", Type::String))
                .attribute(Attribute::optional("delete", Type::String)),
        ))
}

fn autoscaling_group() -> Block {
    Block::new()
        .attribute(Attribute::computed("id", Type::String))
        .attribute(Attribute::optional_computed("name", Type::String))
        .attribute(Attribute::required("max_size", Type::Number))
        .attribute(Attribute::required("min_size", Type::Number))
}

/// A resource type of the stand-in: its schema, and no way to touch AWS.
struct SchemaOnly {
    name: &'static str,
    block: fn() -> Block,
}

#[async_trait]
impl Resource<()> for SchemaOnly {
    fn type_name(&self) -> &'static str {
        self.name
    }
    fn schema(&self) -> Schema {
        Schema::new(0, (self.block)())
    }
    async fn create(&self, _: &Context<()>, _: CreateRequest) -> ApplyResult {
        ApplyResult::failed(Value::Null, refused())
    }
    async fn read(&self, _: &Context<()>, req: ReadRequest) -> ReadResult {
        ReadResult::failed(req.state, req.private, refused())
    }
    async fn update(&self, _: &Context<()>, req: UpdateRequest) -> ApplyResult {
        ApplyResult::failed(req.prior_state, refused())
    }
    async fn delete(&self, _: &Context<()>, _: DeleteRequest) -> Diagnostics {
        refused().into()
    }
}

#[async_trait]
impl Provider for AwsSchemaProvider {
    type Data = ();
    fn type_name(&self) -> &'static str {
        "aws"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new().attribute(Attribute::optional("region", Type::String)),
        )
    }
    async fn configure(&self, _: &Value, _: &mut Diagnostics) -> Option<()> {
        Some(())
    }
    fn resources(&self) -> ResourceList<()> {
        vec![
            Arc::new(SchemaOnly {
                name: "aws_eks_node_group",
                block: node_group,
            }),
            Arc::new(SchemaOnly {
                name: "aws_autoscaling_group",
                block: autoscaling_group,
            }),
        ]
    }
    fn data_sources(&self) -> DataSourceList<()> {
        Vec::new()
    }
}

fn main() -> ExitCode {
    let env = match handshake::read_env(|k| std::env::var(k).ok(), "aws-schema-provider") {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
    else {
        return ExitCode::FAILURE;
    };
    let result = rt.block_on(protocol::serve(AwsSchemaProvider, env));
    rt.shutdown_background();
    if let Err(e) = result {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
