use super::*;
use crate::framework::{Diagnostics, ModifyPlanResponse, ObjectBuilder, Resource, ValidateRequest};

fn config() -> Value {
    ObjectBuilder::new(&schema::schema().block)
        .set("name", "settings")
        .set("namespace", "team")
        .set(
            "data",
            Value::map([("retention", Value::string("7d")), ("tier", Value::Unknown)]),
        )
        .build()
}

fn plan(config: &Value) -> ModifyPlanResponse {
    crate::framework::resource::plan_create(&ExampleSettings, config)
}

#[test]
fn the_schema_is_well_formed_and_has_the_lifecycle_attributes() {
    let schema = ExampleSettings.schema();
    assert!(schema.check().is_empty(), "{:?}", schema.check());
    for a in [
        "id",
        "owner_id",
        "adopt_existing",
        "force_conflicts",
        "objects",
    ] {
        assert!(schema.block.attributes.iter().any(|x| x.name == a), "{a}");
    }
    assert_eq!(ExampleSettings.type_name(), "dataplatform_example_settings");
}

#[test]
fn the_lifecycle_plans_the_id_the_objects_and_the_outputs() {
    let mut diags = Diagnostics::new();
    ExampleSettings.validate(&ValidateRequest { config: &config() }, &mut diags);
    assert!(diags.is_empty());
    // Unknown data: the objects and outputs wait for apply.
    let unknown = plan(&config());
    assert_eq!(
        unknown.planned.get_attr("id"),
        Some(&Value::string("team/settings"))
    );
    assert_eq!(unknown.planned.get_attr("owner_id"), Some(&Value::Unknown));
    assert_eq!(unknown.planned.get_attr("objects"), Some(&Value::Unknown));
    assert_eq!(unknown.planned.get_attr("keys"), Some(&Value::Unknown));
    // Known data: one ConfigMap with its fingerprint, and the output.
    let mut known = config();
    crate::framework::attr::set(
        &mut known,
        "data",
        Value::map([("retention", Value::string("7d"))]),
    );
    let resp = plan(&known);
    assert!(!resp.diagnostics.has_errors());
    let objects = resp.planned.get_attr("objects").and_then(Value::as_map);
    let keys: Vec<&String> = objects.map(|m| m.keys().collect()).unwrap_or_default();
    assert_eq!(keys, vec!["ConfigMap/team/settings"]);
    assert_eq!(resp.planned.get_attr("keys"), Some(&Value::number(1i64)));
}
