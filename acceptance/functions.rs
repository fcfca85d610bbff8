//! Provider functions with real Terraform 1.15.5: the examples under `examples/functions/`
//! apply and give the values their comments promise; bad arguments fail the plan with the
//! function's message at the calling line. Terraform 1.0.3 knows no provider functions; the
//! provider's other tests show it still serves it.

use serde_json::{json, Value as Json};

use crate::examples::copy_dir;
use crate::support::{
    apply, line_of, repo_root, required_providers, Workspace, TERRAFORM_VERSIONS,
};

fn outputs(ws: &Workspace) -> Json {
    let out = ws.run(&["output", "-json"]);
    out.assert_success();
    let all: Json = serde_json::from_str(&out.stdout).expect("output -json");
    let mut values = serde_json::Map::new();
    for (k, v) in all.as_object().into_iter().flatten() {
        values.insert(k.clone(), v["value"].clone());
    }
    Json::Object(values)
}

#[test]
fn the_function_examples_apply_with_the_values_they_promise() {
    let v = TERRAFORM_VERSIONS[0];
    let ws = Workspace::new(v);
    for name in ["spark_submit_args", "tolerates"] {
        copy_dir(
            &repo_root().join("examples/functions").join(name),
            &ws.work_dir().join(name),
        );
    }
    ws.write(
        "main.tf",
        &format!(
            "{}\nmodule \"spark_submit_args\" {{\n  source = \"./spark_submit_args\"\n}}\n\
             module \"tolerates\" {{\n  source = \"./tolerates\"\n}}\n\
             output \"args\" {{\n  value = module.spark_submit_args.spark_submit_args\n}}\n\
             output \"line\" {{\n  value = module.spark_submit_args.spark_submit_line\n}}\n\
             output \"executors\" {{\n  value = module.tolerates.executors_fit_executor_nodes\n}}\n\
             output \"drivers\" {{\n  value = module.tolerates.drivers_fit_executor_nodes\n}}\n",
            required_providers()
        ),
    );
    for name in ["spark_submit_args", "tolerates"] {
        ws.write(&format!("{name}/versions.tf"), &required_providers());
    }
    ws.init().assert_success();
    let out = apply(&ws);
    out.assert_success();
    assert!(
        !out.text().contains("Check block assertion failed"),
        "{}",
        out.text()
    );
    let o = outputs(&ws);
    assert_eq!(
        o["args"],
        json!([
            "--conf",
            "spark.executor.memory=8g",
            "--conf",
            "spark.kubernetes.driver.podTemplateFile=/opt/spark/conf/driver-pod-template.yaml",
            "--conf",
            "spark.kubernetes.namespace=spark-etl"
        ])
    );
    assert!(
        o["line"]
            .as_str()
            .is_some_and(|l| l.starts_with("spark-submit --conf spark.executor.memory=8g --conf ")),
        "{o}"
    );
    assert_eq!(o["executors"], json!(true));
    assert_eq!(o["drivers"], json!(false));
}

#[test]
fn bad_function_arguments_fail_the_plan_at_the_calling_line() {
    let v = TERRAFORM_VERSIONS[0];
    let ws = Workspace::new(v);
    let cases = [
        (
            r#"output "bad_key" {
  value = provider::dataplatform::spark_submit_args({ "spark.app name" = "etl" })
}
"#,
            "spark_submit_args(",
            "\"spark.app name\" is not a Spark property name",
        ),
        (
            r#"output "bad_effect" {
  value = provider::dataplatform::tolerates(
    { node_selector = {}, tolerations = [] },
    [{ key = "purpose", value = "x", effect = "Sometimes" }],
  )
}
"#,
            "[{ key = \"purpose\"",
            "taints[0]: effect \"Sometimes\" is none of NoSchedule",
        ),
    ];
    ws.write("versions.tf", &required_providers());
    ws.init().assert_success();
    for (body, at, message) in cases {
        ws.write("main.tf", body);
        let out = ws.run(&["plan", "-no-color", "-input=false"]);
        out.assert_failure();
        let text = out.flat();
        assert!(text.contains(message), "{text}");
        let line = line_of(body, at);
        assert!(
            out.text().contains(&format!("on main.tf line {line}")),
            "expected main.tf line {line}:\n{}",
            out.text()
        );
    }
}
