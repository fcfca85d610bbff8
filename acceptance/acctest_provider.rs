//! A test-only build of the provider for the acceptance suite: the real `dataplatform`
//! provider (schema, configuration, validation) plus `dataplatform_acctest_thing`, a resource
//! that exercises the framework end to end through real Terraform. Objects are stored as JSON
//! files under `$DATAPLATFORM_ACCTEST_DIR`, so they outlive each plugin process.
//! Never shipped: built with `cargo build --examples`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use dataplatform::framework::plan_modifiers::{RequiresReplace, UseStateForUnknown};
use dataplatform::framework::schema::{Attribute, Block, NestedBlock, Schema};
use dataplatform::framework::validators::{int_between, one_of};
use dataplatform::framework::{
    timeouts, ApplyResult, Context, CreateRequest, DataSourceList, DeleteRequest, Diagnostic,
    Diagnostics, Provider, ReadRequest, ReadResult, Resource, ResourceList, UpdateRequest,
};
use dataplatform::protocol::{self, handshake};
use dataplatform::provider::{DataplatformProvider, ProviderData};
use dataplatform::value::{self, Type, Value};

struct AcctestProvider;

#[async_trait]
impl Provider for AcctestProvider {
    type Data = ProviderData;
    fn type_name(&self) -> &'static str {
        DataplatformProvider.type_name()
    }
    fn schema(&self) -> Schema {
        DataplatformProvider.schema()
    }
    fn validate(&self, config: &Value, diags: &mut Diagnostics) {
        DataplatformProvider.validate(config, diags)
    }
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<ProviderData> {
        DataplatformProvider.configure(config, diags).await
    }
    fn resources(&self) -> ResourceList<ProviderData> {
        let mut r = DataplatformProvider.resources();
        r.push(Arc::new(Thing));
        r
    }
    fn data_sources(&self) -> DataSourceList<ProviderData> {
        DataplatformProvider.data_sources()
    }
}

struct Thing;

fn schema() -> Schema {
    Schema::new(
        0,
        Block::new()
            .description("A test object.")
            .attribute(
                Attribute::computed("id", Type::String)
                    .description("Id.")
                    .plan_modifier(UseStateForUnknown),
            )
            .attribute(
                Attribute::required("name", Type::String)
                    .description("Name.")
                    .plan_modifier(RequiresReplace),
            )
            .attribute(
                Attribute::optional("size", Type::Number)
                    .description("Size.")
                    .validator(int_between(1, 10)),
            )
            .attribute(
                Attribute::optional_computed("tier", Type::String)
                    .description("Tier.")
                    .default_value(Value::string("standard"))
                    .validator(one_of(&["standard", "premium"])),
            )
            .attribute(
                Attribute::computed("revision", Type::Number)
                    .description("Bumped on every update."),
            )
            .attribute(
                Attribute::optional("secret", Type::String)
                    .description("A secret.")
                    .sensitive(),
            )
            .attribute(
                Attribute::optional("labels", Type::Map(Box::new(Type::String)))
                    .description("Labels."),
            )
            .block(
                NestedBlock::list(
                    "port",
                    Block::new()
                        .description("Ports.")
                        .attribute(
                            Attribute::required("number", Type::Number)
                                .description("Port number.")
                                .validator(int_between(1, 65535)),
                        )
                        .attribute(
                            Attribute::optional_computed("protocol", Type::String)
                                .description("Protocol.")
                                .default_value(Value::string("TCP"))
                                .validator(one_of(&["TCP", "UDP"])),
                        ),
                )
                .items(0, 3),
            )
            .block(timeouts::block(&[("create", Duration::from_secs(60))])),
    )
}

fn store() -> PathBuf {
    PathBuf::from(
        std::env::var("DATAPLATFORM_ACCTEST_DIR").unwrap_or_else(|_| "/nonexistent".into()),
    )
}

fn save(id: &str, v: &Value) -> Result<(), Diagnostic> {
    let bytes = value::encode_json(v, &schema().value_type())
        .map_err(|e| Diagnostic::error("encode", e.to_string()))?;
    std::fs::write(store().join(id), bytes)
        .map_err(|e| Diagnostic::error("Cannot store object", e.to_string()))
}

fn load(id: &str) -> Option<Value> {
    let bytes = std::fs::read(store().join(id)).ok()?;
    value::decode_json(&bytes, &schema().value_type()).ok()
}

fn id_of(v: &Value) -> String {
    v.get_attr("id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string()
}

fn with(v: &Value, pairs: Vec<(&str, Value)>) -> Value {
    let mut m = v.as_map().cloned().unwrap_or_default();
    for (k, x) in pairs {
        m.insert(k.to_string(), x);
    }
    Value::object(m)
}

#[async_trait]
impl Resource<ProviderData> for Thing {
    fn type_name(&self) -> &'static str {
        "dataplatform_acctest_thing"
    }
    fn schema(&self) -> Schema {
        schema()
    }
    async fn create(&self, _: &Context<ProviderData>, req: CreateRequest) -> ApplyResult {
        let name = req
            .planned
            .get_attr("name")
            .and_then(|v| v.as_str())
            .unwrap_or_default()
            .to_string();
        let id = format!("thing-{name}");
        let state = with(
            &req.planned,
            vec![
                ("id", Value::string(&id)),
                ("revision", Value::number(1i64)),
            ],
        );
        match save(&id, &state) {
            Ok(()) => ApplyResult::ok(state),
            Err(d) => ApplyResult::failed(Value::Null, d),
        }
    }
    async fn read(&self, _: &Context<ProviderData>, req: ReadRequest) -> ReadResult {
        match load(&id_of(&req.state)) {
            Some(v) => ReadResult::found(v, req.private),
            None => ReadResult::gone(),
        }
    }
    async fn update(&self, _: &Context<ProviderData>, req: UpdateRequest) -> ApplyResult {
        let revision = req
            .prior_state
            .get_attr("revision")
            .and_then(|v| v.as_number())
            .and_then(|n| n.to_i64())
            .unwrap_or(0);
        let state = with(
            &req.planned,
            vec![("revision", Value::number(revision + 1))],
        );
        match save(&id_of(&state), &state) {
            Ok(()) => ApplyResult::ok(state),
            Err(d) => ApplyResult::failed(req.prior_state, d),
        }
    }
    async fn delete(&self, _: &Context<ProviderData>, req: DeleteRequest) -> Diagnostics {
        let _ = std::fs::remove_file(store().join(id_of(&req.prior_state)));
        Diagnostics::new()
    }
    async fn import(&self, _: &Context<ProviderData>, id: &str) -> Result<Value, Diagnostics> {
        Ok(Value::object(vec![("id", Value::string(id))]))
    }
}

fn main() -> ExitCode {
    dataplatform::logging::init_from_env();
    let env = match handshake::read_env(|k| std::env::var(k).ok(), "acctest-provider") {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let Ok(rt) = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    else {
        return ExitCode::FAILURE;
    };
    let result = rt.block_on(protocol::serve(AcctestProvider, env));
    rt.shutdown_background();
    if let Err(e) = result {
        eprintln!("{e}");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
