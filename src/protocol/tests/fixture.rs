//! Test-only provider and resources exercising every framework feature, and an in-process
//! server to drive over gRPC the way core does.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

use crate::framework::plan_modifiers::{RequiresReplace, UseStateForUnknown};
use crate::framework::schema::{
    Attribute, Block, BlockNesting, Mode, NestedBlock, ObjectNesting, Schema,
};
use crate::framework::validators::{int_between, one_of};
use crate::framework::{
    timeouts, ApplyResult, Context, CreateRequest, DataSource, DataSourceList, DeleteRequest,
    Diagnostic, Diagnostics, ModifyPlanRequest, ModifyPlanResponse, Obj, ObjectBuilder, Provider,
    ReadRequest, ReadResult, Resource, ResourceList, UpdateRequest,
};
use crate::protocol::generated::tfplugin6 as pb;
use crate::protocol::handshake::{ListenAddr, PluginEnv};
use crate::protocol::serve::{run, Listener};
use crate::value::{self, Type, Value};

/// The "cloud" the test resources manage: objects by id.
#[derive(Default)]
pub struct World {
    pub objects: Mutex<BTreeMap<String, Value>>,
    pub next: AtomicUsize,
}

pub struct TestProvider {
    pub world: Arc<World>,
}

pub struct Data {
    pub world: Arc<World>,
    pub region: Option<String>,
}

#[async_trait]
impl Provider for TestProvider {
    type Data = Data;
    fn type_name(&self) -> &'static str {
        "test"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new().description("test provider").attribute(
                Attribute::optional("region", Type::String)
                    .description("region")
                    .validator(one_of(&["eu", "us"])),
            ),
        )
    }
    async fn configure(&self, config: &Value, diags: &mut Diagnostics) -> Option<Data> {
        let region = match Obj::new(config).get::<Option<String>>("region") {
            Ok(r) => r,
            Err(d) => {
                diags.push(d);
                None
            }
        };
        Some(Data {
            world: self.world.clone(),
            region,
        })
    }
    fn resources(&self) -> ResourceList<Data> {
        vec![
            Arc::new(Thing),
            Arc::new(Slow),
            Arc::new(Panicky),
            Arc::new(Nesting),
        ]
    }
    fn data_sources(&self) -> DataSourceList<Data> {
        vec![Arc::new(Echo)]
    }
}

/// A resource with every kind of attribute.
pub struct Thing;

pub fn thing_schema() -> Schema {
    Schema::new(
        1,
        Block::new()
            .description("A thing.")
            .attribute(
                Attribute::computed("id", Type::String)
                    .description("id")
                    .plan_modifier(UseStateForUnknown),
            )
            .attribute(
                Attribute::required("name", Type::String)
                    .description("name")
                    .plan_modifier(RequiresReplace),
            )
            .attribute(
                Attribute::optional("size", Type::Number)
                    .description("size")
                    .validator(int_between(1, 10)),
            )
            .attribute(
                Attribute::optional_computed("tier", Type::String)
                    .description("tier")
                    .default_value(Value::string("standard")),
            )
            .attribute(Attribute::computed("status", Type::String).description("status"))
            .attribute(
                Attribute::optional("password", Type::String)
                    .description("password")
                    .sensitive(),
            )
            .attribute(
                Attribute::optional("token_wo", Type::String)
                    .description("write-only token")
                    .write_only(),
            )
            .attribute(
                Attribute::optional("labels", Type::Map(Box::new(Type::String)))
                    .description("labels"),
            )
            .attribute(
                Attribute::nested(
                    "placement",
                    ObjectNesting::Single,
                    Mode::Computed,
                    vec![
                        Attribute::computed("zone", Type::String).description("zone"),
                        Attribute::computed("weight", Type::Number).description("weight"),
                    ],
                )
                .description("computed placement"),
            )
            .attribute(
                Attribute::optional("old", Type::String)
                    .description("old")
                    .deprecated("use name"),
            )
            .block(
                NestedBlock::list(
                    "rule",
                    Block::new()
                        .description("rules")
                        .attribute(
                            Attribute::required("port", Type::Number)
                                .description("port")
                                .validator(int_between(1, 65535)),
                        )
                        .attribute(
                            Attribute::optional_computed("protocol", Type::String)
                                .description("protocol")
                                .default_value(Value::string("tcp")),
                        ),
                )
                .items(0, 5),
            )
            .block(timeouts::block(&[("create", Duration::from_secs(60))])),
    )
}

fn finish(planned: &Value, id: &str) -> Value {
    let mut b = ObjectBuilder::from_value(&thing_schema().block, planned)
        .set("id", id)
        .set("status", "ACTIVE");
    let name = planned
        .get_attr("name")
        .and_then(|v| v.as_str())
        .unwrap_or("")
        .to_string();
    b = b.set(
        "placement",
        Value::object(vec![
            ("zone", Value::string(format!("zone-{name}"))),
            ("weight", Value::number(3i64)),
        ]),
    );
    b.build()
}

#[async_trait]
impl Resource<Data> for Thing {
    fn type_name(&self) -> &'static str {
        "test_thing"
    }
    fn schema(&self) -> Schema {
        thing_schema()
    }
    fn modify_plan(&self, req: &ModifyPlanRequest<'_, Data>, resp: &mut ModifyPlanResponse) {
        if req.config.is_null() {
            if req.prior_state.get_attr("name").and_then(|v| v.as_str()) == Some("protected") {
                resp.diagnostics.push(Diagnostic::warning(
                    "Destroying a protected thing",
                    "careful",
                ));
            }
            return;
        }
        // Known at plan time: the placement follows the name.
        if let Some(name) = req.config.get_attr("name").and_then(|v| v.as_str()) {
            if let Value::Known(crate::value::Known::Object(fields)) = &mut resp.planned {
                fields.insert(
                    "placement".into(),
                    Value::object(vec![
                        ("zone", Value::string(format!("zone-{name}"))),
                        ("weight", Value::number(3i64)),
                    ]),
                );
            }
        }
    }
    async fn create(&self, ctx: &Context<Data>, req: CreateRequest) -> ApplyResult {
        let n = ctx.data().world.next.fetch_add(1, Ordering::SeqCst);
        let id = format!("thing-{n}");
        let state = finish(&req.planned, &id);
        if req
            .config
            .get_attr("token_wo")
            .and_then(|v| v.as_str())
            .is_some()
        {
            // write-only values reach create through the configuration only
            ctx.data()
                .world
                .objects
                .lock()
                .unwrap()
                .insert(format!("{id}-token"), Value::bool(true));
        }
        ctx.data()
            .world
            .objects
            .lock()
            .unwrap()
            .insert(id, state.clone());
        ApplyResult::ok(state)
    }
    async fn read(&self, ctx: &Context<Data>, req: ReadRequest) -> ReadResult {
        let id = req
            .state
            .get_attr("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        match ctx.data().world.objects.lock().unwrap().get(&id) {
            Some(v) => ReadResult::found(v.clone(), req.private),
            None => ReadResult::gone(),
        }
    }
    async fn update(&self, ctx: &Context<Data>, req: UpdateRequest) -> ApplyResult {
        let id = req
            .prior_state
            .get_attr("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let state = finish(&req.planned, &id);
        ctx.data()
            .world
            .objects
            .lock()
            .unwrap()
            .insert(id, state.clone());
        ApplyResult::ok(state)
    }
    async fn delete(&self, ctx: &Context<Data>, req: DeleteRequest) -> Diagnostics {
        let id = req
            .prior_state
            .get_attr("id")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        ctx.data().world.objects.lock().unwrap().remove(&id);
        Diagnostics::new()
    }
    async fn import(&self, _: &Context<Data>, id: &str) -> Result<Value, Diagnostics> {
        if id.is_empty() {
            return Err(Diagnostic::error("Invalid import id", "empty").into());
        }
        Ok(Value::object(vec![("id", Value::string(id))]))
    }
    fn upgrade_state(
        &self,
        version: i64,
        mut state: serde_json::Value,
    ) -> Result<serde_json::Value, Diagnostics> {
        // v0 called the name "title".
        if version == 0 {
            if let Some(o) = state.as_object_mut() {
                if let Some(t) = o.remove("title") {
                    o.insert("name".into(), t);
                }
            }
            return Ok(state);
        }
        Err(Diagnostic::error("no upgrade", format!("from {version}")).into())
    }
}

fn simple_schema() -> Schema {
    Schema::new(
        0,
        Block::new()
            .description("simple")
            .attribute(Attribute::computed("id", Type::String).description("id"))
            .attribute(Attribute::required("name", Type::String).description("name")),
    )
}

/// Create records the object, then waits until cancelled (StopProvider) or 30 s.
pub struct Slow;

#[async_trait]
impl Resource<Data> for Slow {
    fn type_name(&self) -> &'static str {
        "test_slow"
    }
    fn schema(&self) -> Schema {
        simple_schema()
    }
    async fn create(&self, ctx: &Context<Data>, req: CreateRequest) -> ApplyResult {
        let state = ObjectBuilder::from_value(&simple_schema().block, &req.planned)
            .set("id", "slow-1")
            .build();
        ctx.data()
            .world
            .objects
            .lock()
            .unwrap()
            .insert("slow-1".into(), state.clone());
        match ctx.sleep(Duration::from_secs(30)).await {
            Ok(()) => ApplyResult::ok(state),
            Err(c) => ApplyResult::failed(
                state,
                Diagnostic::error("Create interrupted", c.to_string()),
            ),
        }
    }
    async fn read(&self, _: &Context<Data>, req: ReadRequest) -> ReadResult {
        ReadResult::found(req.state, req.private)
    }
    async fn update(&self, _: &Context<Data>, req: UpdateRequest) -> ApplyResult {
        ApplyResult::ok(req.planned)
    }
    async fn delete(&self, _: &Context<Data>, _: DeleteRequest) -> Diagnostics {
        Diagnostics::new()
    }
}

/// A block of every nesting mode, each with an optional attribute, an optional one with a
/// default and a computed one: what core sends for absent, empty and unknown blocks.
pub fn nesting_schema() -> Schema {
    let inner = || {
        Block::new()
            .description("a block")
            .attribute(Attribute::optional("value", Type::String).description("value"))
            .attribute(
                Attribute::optional_computed("mode", Type::String)
                    .description("mode")
                    .default_value(Value::string("standard")),
            )
            .attribute(Attribute::computed("status", Type::String).description("status"))
    };
    let mut b = Block::new()
        .description("nesting")
        .attribute(
            Attribute::computed("id", Type::String)
                .description("id")
                .plan_modifier(UseStateForUnknown),
        )
        .attribute(Attribute::required("name", Type::String).description("name"));
    for (name, nesting) in [
        ("single", BlockNesting::Single),
        ("group", BlockNesting::Group),
        ("list", BlockNesting::List),
        ("set", BlockNesting::Set),
        ("map", BlockNesting::Map),
    ] {
        // Each with a single block inside, which core treats like a top-level one.
        let block = inner().block(NestedBlock::single("inner", inner()));
        b = b.block(NestedBlock::new(name, nesting, block));
    }
    Schema::new(0, b)
}

/// Plans with the pipeline alone; apply fills in what is computed.
pub struct Nesting;

#[async_trait]
impl Resource<Data> for Nesting {
    fn type_name(&self) -> &'static str {
        "test_nesting"
    }
    fn schema(&self) -> Schema {
        nesting_schema()
    }
    async fn create(&self, _: &Context<Data>, req: CreateRequest) -> ApplyResult {
        ApplyResult::ok(req.planned)
    }
    async fn read(&self, _: &Context<Data>, req: ReadRequest) -> ReadResult {
        ReadResult::found(req.state, req.private)
    }
    async fn update(&self, _: &Context<Data>, req: UpdateRequest) -> ApplyResult {
        ApplyResult::ok(req.planned)
    }
    async fn delete(&self, _: &Context<Data>, _: DeleteRequest) -> Diagnostics {
        Diagnostics::new()
    }
}

/// Panics everywhere.
pub struct Panicky;

#[async_trait]
impl Resource<Data> for Panicky {
    fn type_name(&self) -> &'static str {
        "test_panicky"
    }
    fn schema(&self) -> Schema {
        simple_schema()
    }
    fn modify_plan(&self, req: &ModifyPlanRequest<'_, Data>, _: &mut ModifyPlanResponse) {
        if req.config.get_attr("name").and_then(|v| v.as_str()) == Some("plan") {
            panic!("boom in plan");
        }
    }
    async fn create(&self, _: &Context<Data>, _: CreateRequest) -> ApplyResult {
        panic!("boom in create")
    }
    async fn read(&self, _: &Context<Data>, _: ReadRequest) -> ReadResult {
        panic!("boom in read")
    }
    async fn update(&self, _: &Context<Data>, _: UpdateRequest) -> ApplyResult {
        panic!("boom in update")
    }
    async fn delete(&self, _: &Context<Data>, _: DeleteRequest) -> Diagnostics {
        panic!("boom in delete")
    }
}

/// A data source returning its input with a computed greeting.
pub struct Echo;

#[async_trait]
impl DataSource<Data> for Echo {
    fn type_name(&self) -> &'static str {
        "test_echo"
    }
    fn schema(&self) -> Schema {
        Schema::new(
            0,
            Block::new()
                .description("echo")
                .attribute(Attribute::required("input", Type::String).description("input"))
                .attribute(Attribute::computed("output", Type::String).description("output")),
        )
    }
    async fn read(&self, ctx: &Context<Data>, config: Value) -> (Value, Diagnostics) {
        let input = config
            .get_attr("input")
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string();
        let region = ctx.data().region.clone().unwrap_or_default();
        (
            Value::object(vec![
                ("input", Value::string(input.clone())),
                ("output", Value::string(format!("{input}@{region}"))),
            ]),
            Diagnostics::new(),
        )
    }
}

/// A running in-process server.
pub struct Harness {
    pub client: pb::provider_client::ProviderClient<Channel>,
    pub channel: Channel,
    pub world: Arc<World>,
    pub stop: CancellationToken,
    pub done: tokio::task::JoinHandle<Result<(), crate::protocol::ServeError>>,
}

pub async fn start() -> Harness {
    let world = Arc::new(World::default());
    let (client, channel, stop, done) = serve_in_process(TestProvider {
        world: world.clone(),
    })
    .await;
    Harness {
        client,
        channel,
        world,
        stop,
        done,
    }
}

/// A gRPC client of `provider` served in this process, as Terraform would see it.
pub async fn serve_in_process<P: Provider>(
    provider: P,
) -> (
    pb::provider_client::ProviderClient<Channel>,
    Channel,
    CancellationToken,
    tokio::task::JoinHandle<Result<(), crate::protocol::ServeError>>,
) {
    // Without a client certificate, as with TF_DISABLE_PLUGIN_TLS: a unix socket.
    let listener = Listener::bind(&PluginEnv::default()).await.expect("bind");
    let ListenAddr::Unix(path) = listener.addr().clone() else {
        panic!(
            "plaintext is served on a unix socket, not {}",
            listener.addr()
        );
    };
    let stop = CancellationToken::new();
    let done = tokio::spawn(run(provider, listener, stop.clone(), false));
    let channel = Endpoint::from_shared(format!("unix:{}", path.display()))
        .expect("uri")
        .connect_timeout(Duration::from_secs(5))
        .connect()
        .await
        .expect("connect");
    let client = pb::provider_client::ProviderClient::new(channel.clone())
        .max_decoding_message_size(crate::protocol::MAX_MESSAGE_SIZE)
        .max_encoding_message_size(crate::protocol::MAX_MESSAGE_SIZE);
    (client, channel, stop, done)
}

impl Harness {
    pub async fn configure(&mut self, region: &str) {
        let ty = TestProvider {
            world: self.world.clone(),
        }
        .schema()
        .value_type();
        let config = Value::object(vec![("region", Value::string(region))]);
        configure(&mut self.client, &ty, &config).await;
    }
}

/// ConfigureProvider as Terraform 1.15.5 sends it; panics unless the provider accepts it.
pub async fn configure(
    client: &mut pb::provider_client::ProviderClient<Channel>,
    ty: &Type,
    config: &Value,
) {
    let resp = client
        .configure_provider(pb::configure_provider::Request {
            terraform_version: "1.15.5".into(),
            config: Some(dv(config, ty)),
            client_capabilities: None,
        })
        .await
        .expect("configure")
        .into_inner();
    assert!(resp.diagnostics.is_empty(), "{:?}", resp.diagnostics);
}

pub fn dv(v: &Value, ty: &Type) -> pb::DynamicValue {
    pb::DynamicValue {
        msgpack: value::encode_msgpack(v, ty).expect("encode"),
        json: Vec::new(),
    }
}

pub fn undv(d: Option<&pb::DynamicValue>, ty: &Type) -> Value {
    match d {
        Some(d) => value::decode_msgpack(&d.msgpack, ty).expect("decode"),
        None => Value::Null,
    }
}

/// A full test_thing object with the given overrides, everything else null/absent.
pub fn thing(overrides: Vec<(&str, Value)>) -> Value {
    let mut b = ObjectBuilder::new(&thing_schema().block);
    for (k, v) in overrides {
        b = b.set(k, v);
    }
    b.build()
}

pub fn path_names(p: &pb::AttributePath) -> Vec<String> {
    use pb::attribute_path::step::Selector;
    p.steps
        .iter()
        .map(|s| match &s.selector {
            Some(Selector::AttributeName(n)) => n.clone(),
            Some(Selector::ElementKeyString(k)) => format!("[{k:?}]"),
            Some(Selector::ElementKeyInt(i)) => format!("[{i}]"),
            None => "?".into(),
        })
        .collect()
}
