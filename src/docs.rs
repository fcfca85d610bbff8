//! Generates the registry documentation (`docs/index.md`, `docs/resources/<name>.md`,
//! `docs/data-sources/<name>.md`, `docs/ephemeral-resources/<name>.md`,
//! `docs/list-resources/<name>.md`, `docs/functions/<name>.md`) from the schema descriptions and the files under
//! `examples/`; guides (`docs/guides/`) come from `templates/guides/`. `docs --check` fails when the committed docs are stale.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::framework::schema::{Attribute, AttributeType, Block, BlockNesting, ObjectNesting};
use crate::framework::{Function, IdentitySchema, Provider, ProviderServer, Schema};
use crate::value::Type;

/// The files to write, relative to the repository root, and their contents.
pub fn render<P: Provider>(server: &ProviderServer<P>, root: &Path) -> BTreeMap<PathBuf, String> {
    let name = server.provider_name();
    let mut files = BTreeMap::new();
    let example = read_example(&root.join("examples/provider/provider.tf"));
    let mut index = String::new();
    let _ = write!(
        index,
        "---\npage_title: \"Provider: {name}\"\ndescription: |-\n  {}\n---\n\n# {name} Provider\n\n{}\n\n",
        first_line(&server.provider_schema().block.description),
        server.provider_schema().block.description.trim()
    );
    if let Some(ex) = example {
        let _ = write!(
            index,
            "## Example Usage\n\n```terraform\n{}\n```\n\n",
            ex.trim_end()
        );
    }
    index.push_str(&schema_section(server.provider_schema()));
    files.insert(PathBuf::from("docs/index.md"), index);

    let identities: BTreeMap<&str, &IdentitySchema> = server.identity_schemas().collect();
    for (type_name, schema) in server.resource_schemas() {
        let dir = root.join("examples/resources").join(type_name);
        let mut page = page(name, "Resource", type_name, schema, &dir);
        if let Some(identity) = identities.get(type_name) {
            page.push_str(&identity_section(identity, &dir));
        }
        files.insert(
            PathBuf::from(format!("docs/resources/{}.md", short(name, type_name))),
            page,
        );
    }
    guides(root, &mut files);
    for (type_name, schema) in server.data_source_schemas() {
        let dir = root.join("examples/data-sources").join(type_name);
        let page = page(name, "Data Source", type_name, schema, &dir);
        files.insert(
            PathBuf::from(format!("docs/data-sources/{}.md", short(name, type_name))),
            page,
        );
    }
    for (type_name, schema) in server.list_resource_schemas() {
        let dir = root.join("examples/list-resources").join(type_name);
        let page = page(name, "List Resource", type_name, schema, &dir);
        files.insert(
            PathBuf::from(format!("docs/list-resources/{}.md", short(name, type_name))),
            page,
        );
    }
    for (type_name, schema) in server.ephemeral_resource_schemas() {
        let dir = root.join("examples/ephemeral-resources").join(type_name);
        let page = page(name, "Ephemeral Resource", type_name, schema, &dir);
        files.insert(
            PathBuf::from(format!(
                "docs/ephemeral-resources/{}.md",
                short(name, type_name)
            )),
            page,
        );
    }
    for f in server.functions() {
        let example = read_example(
            &root
                .join("examples/functions")
                .join(f.name())
                .join("function.tf"),
        );
        files.insert(
            PathBuf::from(format!("docs/functions/{}.md", f.name())),
            function_page(name, f, example),
        );
    }
    files
}

/// A function's page: description, example, signature and arguments.
fn function_page(provider: &str, f: &dyn Function, example: Option<String>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "---\npage_title: \"{name} function - {provider}\"\nsubcategory: \"\"\ndescription: |-\n  {summary}\n---\n\n# function: {name}\n\n{description}\n\n",
        name = f.name(),
        summary = f.summary(),
        description = f.description().trim()
    );
    if let Some(ex) = example {
        let _ = write!(
            out,
            "## Example Usage\n\n```terraform\n{}\n```\n\n",
            ex.trim_end()
        );
    }
    let params = f.parameters();
    let signature = params
        .iter()
        .map(|p| format!("{} {}", p.name, type_name(&p.ty).to_lowercase()))
        .collect::<Vec<_>>()
        .join(", ");
    let _ = write!(
        out,
        "## Signature\n\n```text\nprovider::{provider}::{}({signature}) {}\n```\n\n## Arguments\n\n",
        f.name(),
        type_name(&f.return_type()).to_lowercase()
    );
    for (i, p) in params.iter().enumerate() {
        let _ = writeln!(
            out,
            "{}. `{}` ({}) {}",
            i + 1,
            p.name,
            type_name(&p.ty),
            p.description
        );
    }
    out
}

fn short<'a>(provider: &str, type_name: &'a str) -> &'a str {
    type_name
        .strip_prefix(provider)
        .and_then(|s| s.strip_prefix('_'))
        .unwrap_or(type_name)
}

fn read_example(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}

fn first_line(s: &str) -> String {
    s.lines().next().unwrap_or("").trim().replace('"', "'")
}

fn page(provider: &str, kind: &str, type_name: &str, schema: &Schema, examples: &Path) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "---\npage_title: \"{type_name} {kind} - {provider}\"\nsubcategory: \"\"\ndescription: |-\n  {}\n---\n\n# {type_name} ({kind})\n\n{}\n\n",
        first_line(&schema.block.description),
        schema.block.description.trim()
    );
    let file = match kind {
        "Resource" => "resource.tf",
        "Ephemeral Resource" => "ephemeral-resource.tf",
        "List Resource" => "list-resource.tfquery.hcl",
        _ => "data-source.tf",
    };
    if let Some(ex) = read_example(&examples.join(file)) {
        let _ = write!(
            out,
            "## Example Usage\n\n```terraform\n{}\n```\n\n",
            ex.trim_end()
        );
    }
    out.push_str(&schema_section(schema));
    if let Some(import) = read_example(&examples.join("import.sh")) {
        let _ = write!(
            out,
            "\n## Import\n\nImport is supported using the following syntax:\n\n```shell\n{}\n```\n",
            import.trim_end()
        );
    }
    out
}

/// The identity schema (Terraform 1.12+) and how to import by it.
fn identity_section(identity: &IdentitySchema, examples: &Path) -> String {
    let mut out = String::from(
        "\n## Identity\n\nWith Terraform 1.12 and later each instance stores an identity beside its state, \
         and an `import` block may name the object by it instead of by ID.\n\n",
    );
    for (title, required) in [("Required", true), ("Optional", false)] {
        let attrs: Vec<_> = identity
            .attributes
            .iter()
            .filter(|a| a.required_for_import == required)
            .collect();
        if attrs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "### {title}\n");
        for a in attrs {
            let _ = writeln!(out, "- `{}` (String) {}", a.name, a.description);
        }
        out.push('\n');
    }
    if let Some(ex) = read_example(&examples.join("import-by-identity.tf")) {
        let _ = write!(out, "```terraform\n{}\n```\n", ex.trim_end());
    }
    out
}

fn schema_section(schema: &Schema) -> String {
    let mut out = String::from("<!-- generated from the provider schema: edit descriptions in the source, then run `make docs` -->\n## Schema\n");
    let mut nested = Vec::new();
    block_fields(&schema.block, "", &mut out, &mut nested);
    while !nested.is_empty() {
        let (anchor, title, block) = nested.remove(0);
        let _ = write!(
            out,
            "\n<a id=\"{anchor}\"></a>\n### Nested Schema for `{title}`\n"
        );
        let mut more = Vec::new();
        block_fields(&block, &format!("{title}."), &mut out, &mut more);
        nested.extend(more);
    }
    out
}

type NestedList = Vec<(String, String, Block)>;
type AttributeFilter = fn(&Attribute) -> bool;

fn block_fields(block: &Block, prefix: &str, out: &mut String, nested: &mut NestedList) {
    let groups: [(&str, AttributeFilter); 3] = [
        ("Required", |a| a.mode.is_required()),
        ("Optional", |a| a.mode.is_optional()),
        ("Read-Only", |a| a.mode == crate::framework::Mode::Computed),
    ];
    for (title, pick) in groups {
        let attrs: Vec<&Attribute> = block.attributes.iter().filter(|a| pick(a)).collect();
        let blocks: Vec<_> = if title == "Optional" {
            block.blocks.iter().collect()
        } else {
            Vec::new()
        };
        if attrs.is_empty() && blocks.is_empty() {
            continue;
        }
        let _ = write!(
            out,
            "\n{} {title}\n\n",
            if prefix.is_empty() { "###" } else { "####" }
        );
        for a in attrs {
            let anchor = format!("nestedatt--{}{}", prefix.replace('.', "--"), a.name);
            let mut line = format!("- `{}` ({}", a.name, type_label(a));
            if a.sensitive {
                line.push_str(", Sensitive");
            }
            if a.write_only {
                line.push_str(", Write-only");
            }
            if a.deprecation.is_some() {
                line.push_str(", Deprecated");
            }
            line.push(')');
            let mut desc = a.description.trim().to_string();
            for v in &a.validators {
                let _ = write!(desc, " Value {}.", v.description());
            }
            for m in &a.plan_modifiers {
                let _ = write!(desc, " {}", m.description());
            }
            if let AttributeType::Nested(n) = &a.ty {
                let _ = write!(desc, " (see [below for nested schema](#{anchor}))");
                nested.push((anchor, format!("{prefix}{}", a.name), n.block()));
            }
            let _ = writeln!(out, "{line} {}", desc.trim());
        }
        for b in blocks {
            let anchor = format!("nestedblock--{}{}", prefix.replace('.', "--"), b.type_name);
            let kind = match b.nesting {
                BlockNesting::Single | BlockNesting::Group => "Block",
                BlockNesting::List => "Block List",
                BlockNesting::Set => "Block Set",
                BlockNesting::Map => "Block Map",
            };
            let limit = if b.max_items > 0 {
                format!(", Max: {}", b.max_items)
            } else {
                String::new()
            };
            let _ = writeln!(
                out,
                "- `{}` ({kind}{limit}) {} (see [below for nested schema](#{anchor}))",
                b.type_name,
                b.block.description.trim()
            );
            nested.push((anchor, format!("{prefix}{}", b.type_name), b.block.clone()));
        }
    }
    for r in &block.rules {
        let _ = write!(out, "\n{}\n", r.description());
    }
}

fn type_label(a: &Attribute) -> String {
    match &a.ty {
        AttributeType::Value(t) => type_name(t),
        AttributeType::Nested(n) => match n.nesting {
            ObjectNesting::Single => "Attributes".into(),
            ObjectNesting::List => "Attributes List".into(),
            ObjectNesting::Set => "Attributes Set".into(),
            ObjectNesting::Map => "Attributes Map".into(),
        },
    }
}

fn type_name(t: &Type) -> String {
    match t {
        Type::Bool => "Boolean".into(),
        Type::Number => "Number".into(),
        Type::String => "String".into(),
        Type::Dynamic => "Dynamic".into(),
        Type::List(e) => format!("List of {}", type_name(e)),
        Type::Set(e) => format!("Set of {}", type_name(e)),
        Type::Map(e) => format!("Map of {}", type_name(e)),
        Type::Object { .. } => "Object".into(),
        Type::Tuple(_) => "Tuple".into(),
    }
}

/// Writes the rendered files under `root`, removing generated pages that no longer exist.
///
/// # Errors
/// I/O errors while writing.
/// The folders whose every file is generated (extra files there are stale).
const GENERATED_DIRS: [&str; 6] = [
    "docs/resources",
    "docs/data-sources",
    "docs/ephemeral-resources",
    "docs/list-resources",
    "docs/functions",
    "docs/guides",
];

/// Guides are written by hand under `templates/guides/` and published as they are.
fn guides(root: &Path, files: &mut BTreeMap<PathBuf, String>) {
    let Ok(entries) = std::fs::read_dir(root.join("templates/guides")) else {
        return;
    };
    for e in entries.flatten() {
        let path = e.path();
        if path.extension().is_some_and(|x| x == "md") {
            if let Ok(text) = std::fs::read_to_string(&path) {
                files.insert(Path::new("docs/guides").join(e.file_name()), text);
            }
        }
    }
}

pub fn write(files: &BTreeMap<PathBuf, String>, root: &Path) -> std::io::Result<()> {
    for sub in GENERATED_DIRS {
        let dir = root.join(sub);
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                let rel = Path::new(sub).join(e.file_name());
                if !files.contains_key(&rel) {
                    std::fs::remove_file(e.path())?;
                }
            }
        }
    }
    for (rel, content) in files {
        let path = root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, content)?;
    }
    Ok(())
}

/// The generated files that differ from what is on disk (missing, changed or extra).
pub fn stale(files: &BTreeMap<PathBuf, String>, root: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = files
        .iter()
        .filter(|(rel, content)| {
            std::fs::read_to_string(root.join(rel)).ok().as_deref() != Some(content.as_str())
        })
        .map(|(rel, _)| rel.clone())
        .collect();
    for sub in GENERATED_DIRS {
        if let Ok(entries) = std::fs::read_dir(root.join(sub)) {
            for e in entries.flatten() {
                let rel = Path::new(sub).join(e.file_name());
                if !files.contains_key(&rel) {
                    out.push(rel);
                }
            }
        }
    }
    out
}
