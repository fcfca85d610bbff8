//! The resource framework: schemas, typed models, the plan pipeline, validation, diagnostics
//! and the protocol-independent server that routes each RPC to a resource.
//!
//! Dependencies point one way: `protocol` uses `framework`, which uses `value`.

pub mod attr;
pub mod context;
pub mod diagnostics;
pub mod function;
pub mod generate;
pub mod identity;
pub mod model;
pub mod plan;
pub mod plan_modifiers;
pub mod redact;
pub mod resource;
pub mod rules;
pub mod schema;
pub mod server;
pub mod timeouts;
pub mod validate;
pub mod validators;

pub use context::{Cancelled, Context, Shared};
pub use diagnostics::{Diagnostic, Diagnostics, Severity};
pub use function::{Function, FunctionError, FunctionList, Parameter};
pub use identity::{IdentityAttribute, IdentitySchema};
pub use model::{Field, FromValue, IfKnown, Merge, Obj, ObjectBuilder, Partial, SetOf, ToValue};
pub use resource::{
    ApplyResult, CreateRequest, DataSource, DeleteRequest, EphemeralResource, ListResource, Listed,
    ModifyPlanRequest, ModifyPlanResponse, MoveSource, Provider, ReadRequest, ReadResult, Resource,
    UpdateRequest, ValidateRequest,
};
pub use resource::{DataSourceList, EphemeralResourceList, ListResourceList, ResourceList};
pub use schema::{
    Attribute, AttributeType, Block, BlockNesting, Mode, NestedBlock, ObjectNesting, Schema,
};
pub use server::ProviderServer;
pub use validate::ClientCapabilities;
