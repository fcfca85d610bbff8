//! Shared by the fuzz targets: the fixed table of interesting types that
//! the first input byte picks from.

use dataplatform::value::Type;

/// The types the fuzzers decode against. Index = first input byte modulo
/// the table length (the seed corpus relies on these positions).
pub fn types() -> Vec<Type> {
    let taint = Type::object([
        ("key", Type::String),
        ("value", Type::String),
        ("effect", Type::String),
    ]);
    let node = Type::object([
        ("name", Type::String),
        ("taints", Type::set(taint)),
        ("size", Type::Number),
    ]);
    vec![
        // 0: the spec's test-vector object
        Type::object([
            ("id", Type::String),
            ("name", Type::String),
            ("size", Type::Number),
        ]),
        // 1..=4: primitives and dynamic
        Type::Number,
        Type::String,
        Type::Dynamic,
        Type::Bool,
        // 5..=8: collections and tuple
        Type::list(Type::String),
        Type::set(Type::Number),
        Type::map(Type::Dynamic),
        Type::tuple([Type::String, Type::Number, Type::Bool]),
        // 9: a resource-like nested object with optional attributes
        Type::object_with_optional(
            [
                ("tags", Type::map(Type::String)),
                ("nodes", Type::list(node)),
                ("extra", Type::Dynamic),
                ("enabled", Type::Bool),
            ],
            ["extra", "enabled"],
        ),
        // 10, 11: deeper nesting
        Type::list(Type::list(Type::map(Type::Number))),
        Type::set(Type::tuple([Type::Dynamic, Type::list(Type::Bool)])),
    ]
}

/// Splits fuzz input into (type, payload); `None` for empty input.
pub fn pick(data: &[u8]) -> Option<(Type, &[u8])> {
    let (&first, rest) = data.split_first()?;
    let table = types();
    let ty = table.get(usize::from(first) % table.len())?.clone();
    Some((ty, rest))
}
