//! The schema model: attributes, nested attributes and blocks, with the behaviour declared on
//! them (defaults, validators, plan modifiers) that the framework applies in a fixed order.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use crate::value::{Type, Value};

use super::plan_modifiers::PlanModifier;
use super::rules::Rule;
use super::validators::Validator;

/// Whether the user must, may, or cannot set an attribute.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Required,
    Optional,
    /// Set by the provider only.
    Computed,
    /// Set by the user or, when left out, by the provider.
    OptionalComputed,
}

impl Mode {
    pub fn is_required(self) -> bool {
        self == Mode::Required
    }
    pub fn is_optional(self) -> bool {
        matches!(self, Mode::Optional | Mode::OptionalComputed)
    }
    pub fn is_computed(self) -> bool {
        matches!(self, Mode::Computed | Mode::OptionalComputed)
    }
}

/// How the objects of a nested attribute are collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObjectNesting {
    Single,
    List,
    Set,
    Map,
}

/// How the objects of a nested block are collected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockNesting {
    /// At most one block; null when absent.
    Single,
    /// Exactly one object; never null (absent means all attributes null).
    Group,
    List,
    Set,
    Map,
}

/// An attribute's type: a plain type, or objects described by nested attributes.
#[derive(Clone)]
pub enum AttributeType {
    Value(Type),
    Nested(NestedAttributes),
}

/// Objects described attribute by attribute (protocol 6 nested attributes).
#[derive(Clone)]
pub struct NestedAttributes {
    pub nesting: ObjectNesting,
    pub attributes: Vec<Attribute>,
}

impl NestedAttributes {
    /// The nested attributes as a block body, so block walkers serve both.
    pub fn block(&self) -> Block {
        Block {
            attributes: self.attributes.clone(),
            ..Block::default()
        }
    }
}

impl From<ObjectNesting> for BlockNesting {
    fn from(n: ObjectNesting) -> Self {
        match n {
            ObjectNesting::Single => BlockNesting::Single,
            ObjectNesting::List => BlockNesting::List,
            ObjectNesting::Set => BlockNesting::Set,
            ObjectNesting::Map => BlockNesting::Map,
        }
    }
}

/// One attribute and everything declared on it.
#[derive(Clone)]
pub struct Attribute {
    pub name: String,
    pub ty: AttributeType,
    pub mode: Mode,
    /// Markdown.
    pub description: String,
    pub sensitive: bool,
    /// Sent in configuration only; never stored in plan or state (protocol 6.8+).
    pub write_only: bool,
    /// Deprecation message; `Some` marks the attribute deprecated.
    pub deprecation: Option<String>,
    /// Value planned when the configuration leaves it null (Optional+Computed only).
    pub default: Option<Value>,
    pub validators: Vec<Arc<dyn Validator>>,
    pub plan_modifiers: Vec<Arc<dyn PlanModifier>>,
}

impl fmt::Debug for Attribute {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attribute")
            .field("name", &self.name)
            .field("mode", &self.mode)
            .finish_non_exhaustive()
    }
}

impl Attribute {
    fn new(name: &str, ty: AttributeType, mode: Mode) -> Self {
        Attribute {
            name: name.to_string(),
            ty,
            mode,
            description: String::new(),
            sensitive: false,
            write_only: false,
            deprecation: None,
            default: None,
            validators: Vec::new(),
            plan_modifiers: Vec::new(),
        }
    }

    pub fn required(name: &str, ty: Type) -> Self {
        Self::new(name, AttributeType::Value(ty), Mode::Required)
    }
    pub fn optional(name: &str, ty: Type) -> Self {
        Self::new(name, AttributeType::Value(ty), Mode::Optional)
    }
    pub fn computed(name: &str, ty: Type) -> Self {
        Self::new(name, AttributeType::Value(ty), Mode::Computed)
    }
    pub fn optional_computed(name: &str, ty: Type) -> Self {
        Self::new(name, AttributeType::Value(ty), Mode::OptionalComputed)
    }
    /// A nested attribute (`name = { ... }` or a list/set/map of such objects).
    pub fn nested(
        name: &str,
        nesting: ObjectNesting,
        mode: Mode,
        attributes: Vec<Attribute>,
    ) -> Self {
        Self::new(
            name,
            AttributeType::Nested(NestedAttributes {
                nesting,
                attributes,
            }),
            mode,
        )
    }

    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
    pub fn sensitive(mut self) -> Self {
        self.sensitive = true;
        self
    }
    pub fn write_only(mut self) -> Self {
        self.write_only = true;
        self
    }
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecation = Some(message.into());
        self
    }
    pub fn default_value(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }
    pub fn validator(mut self, v: impl Validator + 'static) -> Self {
        self.validators.push(Arc::new(v));
        self
    }
    pub fn plan_modifier(mut self, m: impl PlanModifier + 'static) -> Self {
        self.plan_modifiers.push(Arc::new(m));
        self
    }

    /// The attribute's value type as it travels on the wire.
    pub fn value_type(&self) -> Type {
        match &self.ty {
            AttributeType::Value(t) => t.clone(),
            AttributeType::Nested(n) => {
                let object = object_type(n.attributes.iter(), std::iter::empty());
                match n.nesting {
                    ObjectNesting::Single => object,
                    ObjectNesting::List => Type::List(Box::new(object)),
                    ObjectNesting::Set => Type::Set(Box::new(object)),
                    ObjectNesting::Map => Type::Map(Box::new(object)),
                }
            }
        }
    }
}

/// A block of attributes and nested blocks: a resource, a provider configuration, or the body
/// of a nested block.
#[derive(Clone, Debug, Default)]
pub struct Block {
    pub attributes: Vec<Attribute>,
    pub blocks: Vec<NestedBlock>,
    pub description: String,
    pub deprecation: Option<String>,
    /// Rules across this block's attributes and nested blocks, checked on every object.
    pub rules: Vec<Rule>,
}

impl Block {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn attribute(mut self, a: Attribute) -> Self {
        self.attributes.push(a);
        self
    }
    pub fn block(mut self, b: NestedBlock) -> Self {
        self.blocks.push(b);
        self
    }
    pub fn description(mut self, text: impl Into<String>) -> Self {
        self.description = text.into();
        self
    }
    pub fn deprecated(mut self, message: impl Into<String>) -> Self {
        self.deprecation = Some(message.into());
        self
    }
    pub fn rule(mut self, r: Rule) -> Self {
        self.rules.push(r);
        self
    }

    /// The object type of this block's values.
    pub fn value_type(&self) -> Type {
        object_type(self.attributes.iter(), self.blocks.iter())
    }

    pub fn find_attribute(&self, name: &str) -> Option<&Attribute> {
        self.attributes.iter().find(|a| a.name == name)
    }

    pub fn find_block(&self, name: &str) -> Option<&NestedBlock> {
        self.blocks.iter().find(|b| b.type_name == name)
    }
}

/// A nested block (`name { ... }`).
#[derive(Clone, Debug)]
pub struct NestedBlock {
    pub type_name: String,
    pub nesting: BlockNesting,
    pub block: Block,
    pub min_items: i64,
    pub max_items: i64,
}

impl NestedBlock {
    pub fn new(type_name: &str, nesting: BlockNesting, block: Block) -> Self {
        NestedBlock {
            type_name: type_name.to_string(),
            nesting,
            block,
            min_items: 0,
            max_items: 0,
        }
    }
    /// A block that may appear at most once (`Single` nesting).
    pub fn single(type_name: &str, block: Block) -> Self {
        Self::new(type_name, BlockNesting::Single, block)
    }
    pub fn list(type_name: &str, block: Block) -> Self {
        Self::new(type_name, BlockNesting::List, block)
    }
    pub fn items(mut self, min: i64, max: i64) -> Self {
        self.min_items = min;
        self.max_items = max;
        self
    }

    pub fn value_type(&self) -> Type {
        let object = self.block.value_type();
        match self.nesting {
            BlockNesting::Single | BlockNesting::Group => object,
            BlockNesting::List => Type::List(Box::new(object)),
            BlockNesting::Set => Type::Set(Box::new(object)),
            BlockNesting::Map => Type::Map(Box::new(object)),
        }
    }

    /// The value of this block when it does not appear in the configuration.
    pub fn absent_value(&self) -> Value {
        match self.nesting {
            BlockNesting::Single => Value::Null,
            BlockNesting::Group => self.block.null_object(),
            BlockNesting::List => Value::list(Vec::new()),
            BlockNesting::Set => Value::set(Vec::new()),
            BlockNesting::Map => Value::map(BTreeMap::<String, Value>::new()),
        }
    }
}

impl Block {
    /// An object of this block with every attribute null and every nested block absent: the
    /// shape core expects for a value with nothing set.
    pub fn null_object(&self) -> Value {
        let mut fields = BTreeMap::new();
        for a in &self.attributes {
            fields.insert(a.name.clone(), Value::Null);
        }
        for b in &self.blocks {
            fields.insert(b.type_name.clone(), b.absent_value());
        }
        Value::object(fields)
    }
}

fn object_type<'a>(
    attributes: impl Iterator<Item = &'a Attribute>,
    blocks: impl Iterator<Item = &'a NestedBlock>,
) -> Type {
    let mut fields = BTreeMap::new();
    for a in attributes {
        fields.insert(a.name.clone(), a.value_type());
    }
    for b in blocks {
        fields.insert(b.type_name.clone(), b.value_type());
    }
    Type::Object {
        attributes: fields,
        optional: Default::default(),
    }
}

/// A resource's, data source's or provider's schema.
#[derive(Clone, Debug)]
pub struct Schema {
    /// Bumped when the stored shape changes; state written by older versions is upgraded.
    pub version: i64,
    pub block: Block,
}

impl Schema {
    pub fn new(version: i64, block: Block) -> Self {
        Schema { version, block }
    }

    pub fn value_type(&self) -> Type {
        self.block.value_type()
    }

    /// Checks the schema is one core accepts and the framework can honour; used by tests of
    /// every resource so a mistake in a declaration fails fast.
    pub fn check(&self) -> Vec<String> {
        let mut problems = Vec::new();
        check_block(&self.block, "", &mut problems);
        problems
    }
}

fn check_block(block: &Block, prefix: &str, problems: &mut Vec<String>) {
    let mut seen = std::collections::BTreeSet::new();
    for a in &block.attributes {
        let name = format!("{prefix}{}", a.name);
        if !seen.insert(a.name.clone()) {
            problems.push(format!("{name}: declared twice"));
        }
        if !is_identifier(&a.name) {
            problems.push(format!("{name}: not a valid attribute name"));
        }
        if a.default.is_some() && a.mode != Mode::OptionalComputed {
            problems.push(format!(
                "{name}: a default needs an optional and computed attribute"
            ));
        }
        if a.write_only && (a.mode.is_computed() || a.mode == Mode::Computed) {
            problems.push(format!("{name}: a write-only attribute cannot be computed"));
        }
        if a.description.is_empty() {
            problems.push(format!("{name}: has no description"));
        }
        if let AttributeType::Nested(n) = &a.ty {
            let inner = n.block();
            check_block(&inner, &format!("{name}."), problems);
        }
    }
    for b in &block.blocks {
        let name = format!("{prefix}{}", b.type_name);
        if !seen.insert(b.type_name.clone()) {
            problems.push(format!("{name}: declared twice"));
        }
        if b.min_items < 0 || (b.max_items > 0 && b.min_items > b.max_items) {
            problems.push(format!("{name}: min_items/max_items out of order"));
        }
        if matches!(b.nesting, BlockNesting::Single | BlockNesting::Group)
            && b.min_items != b.max_items
        {
            problems.push(format!(
                "{name}: min_items and max_items must match for a single block (0/0 or 1/1)"
            ));
        }
        if b.block.description.is_empty() {
            problems.push(format!("{name}: block has no description"));
        }
        check_block(&b.block, &format!("{name}."), problems);
    }
    for r in &block.rules {
        let at_block =
            r.at.split('.')
                .next()
                .map(str::to_string)
                .unwrap_or_default();
        for n in r.names.iter().chain(std::iter::once(&at_block)) {
            if !seen.contains(n) {
                problems.push(format!(
                    "{prefix}{n}: named by a rule ({}) but not declared",
                    r.description()
                ));
            }
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let mut chars = s.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_lowercase())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}
