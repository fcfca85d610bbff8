//! Provider functions (Terraform 1.8+): `provider::<name>::<function>(...)` in HCL. A function
//! is pure: it sees only its arguments, never the provider configuration or the network, so
//! Terraform may call it during validation, plan and apply alike.

use std::sync::Arc;

use crate::value::{Type, Value};

/// One parameter of a function.
pub struct Parameter {
    pub name: &'static str,
    pub ty: Type,
    pub description: &'static str,
}

impl Parameter {
    pub fn new(name: &'static str, ty: Type, description: &'static str) -> Self {
        Parameter {
            name,
            ty,
            description,
        }
    }
}

/// Why a call failed; `argument` is the index of the argument at fault, which Terraform
/// points at in its diagnostic.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionError {
    pub text: String,
    pub argument: Option<usize>,
}

impl FunctionError {
    pub fn argument(index: usize, text: impl Into<String>) -> Self {
        FunctionError {
            text: text.into(),
            argument: Some(index),
        }
    }
}

pub trait Function: Send + Sync + 'static {
    /// The name in `provider::<provider>::<name>`.
    fn name(&self) -> &'static str;
    /// One line, shown by language servers.
    fn summary(&self) -> &'static str;
    /// Markdown.
    fn description(&self) -> &'static str;
    fn parameters(&self) -> Vec<Parameter>;
    fn return_type(&self) -> Type;
    /// Called with one known, non-null value per parameter, of the parameter's type.
    fn call(&self, args: &[Value]) -> Result<Value, FunctionError>;
}

pub type FunctionList = Vec<Arc<dyn Function>>;
