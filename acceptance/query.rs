//! `terraform query` (Terraform 1.14+) over node groups made outside Terraform: the list
//! resource finds them by cluster, purpose, name prefix and labels; `-generate-config-out`
//! writes import blocks (by identity) and configuration that imports with no change. Bad
//! filters fail at the attribute. Terraform 1.0.3 has no `query`.

use crate::sandbox::Sandbox;
use crate::support::{
    apply, assert_no_changes, block_on, plan, provider_only, query_found, TERRAFORM_VERSIONS,
};

/// A node group made with the AWS SDK (as eksctl or the console would), labelled with its
/// purpose (and, for Spark groups, tainted).
fn create_elsewhere(sb: &Sandbox, name: &str, purpose: &str) {
    use aws_sdk_eks::types::{NodegroupScalingConfig, Taint, TaintEffect};
    let eks = aws_sdk_eks::Client::new(&sb.sdk_config());
    let mut create = eks
        .create_nodegroup()
        .cluster_name(sb.cluster())
        .nodegroup_name(name)
        .node_role(sb.node_role_arn())
        .set_subnets(Some(sb.subnet_ids()))
        .instance_types("m6i.2xlarge")
        .labels("purpose", purpose)
        .labels("team", "data")
        .scaling_config(
            NodegroupScalingConfig::builder()
                .min_size(0)
                .max_size(5)
                .desired_size(0)
                .build(),
        );
    if purpose.starts_with("spark-") {
        create = create.taints(
            Taint::builder()
                .key("purpose")
                .value(purpose)
                .effect(TaintEffect::NoSchedule)
                .build(),
        );
    }
    block_on(create.send()).expect("create a node group outside Terraform");
}

fn query_file(config: &str) -> String {
    format!(
        "list \"dataplatform_nodegroup\" \"found\" {{\n  provider = dataplatform\n\n  config {{\n{config}  }}\n}}\n"
    )
}

#[test]
fn query_finds_groups_made_elsewhere_and_generates_configuration_that_imports_clean() {
    let v = TERRAFORM_VERSIONS[0];
    let sb = Sandbox::start();
    for (name, purpose) in [
        ("etl-drivers", "spark-driver"),
        ("etl-executors", "spark-executor"),
        ("ops-tools", "infra"),
    ] {
        create_elsewhere(&sb, name, purpose);
    }
    let ws = sb.workspace(v);
    ws.write("main.tf", &provider_only());
    ws.init().assert_success();
    let cluster = sb.cluster();

    // Filters: a name prefix, then a purpose, then labels.
    for (filter, expected) in [
        (
            format!("    cluster_name = \"{cluster}\"\n    name_prefix  = \"etl-\"\n"),
            vec!["etl-drivers", "etl-executors"],
        ),
        (
            format!("    cluster_name = \"{cluster}\"\n    purpose      = \"infra\"\n"),
            vec!["ops-tools"],
        ),
        (
            format!(
                "    cluster_name = \"{cluster}\"\n    labels = {{\n      purpose = \"spark-executor\"\n      team    = \"data\"\n    }}\n"
            ),
            vec!["etl-executors"],
        ),
    ] {
        ws.write("groups.tfquery.hcl", &query_file(&filter));
        let out = ws.run(&["query", "-no-color", "-json"]);
        out.assert_success();
        let names: Vec<String> = query_found(&out)
            .iter()
            .filter_map(|f| f["identity"]["name"].as_str().map(str::to_string))
            .collect();
        assert_eq!(names, expected, "{filter}:\n{}", out.text());
    }

    // Generate configuration for the Spark groups, then import them with no change.
    ws.write(
        "groups.tfquery.hcl",
        &query_file(&format!(
            "    cluster_name = \"{cluster}\"\n    name_prefix  = \"etl-\"\n"
        )),
    );
    let out = ws.run(&["query", "-no-color", "-generate-config-out=generated.tf"]);
    out.assert_success();
    let generated =
        std::fs::read_to_string(ws.work_dir().join("generated.tf")).expect("generated.tf");
    assert_eq!(generated.matches("import {").count(), 2, "{generated}");
    assert!(generated.contains("identity"), "{generated}");
    std::fs::remove_file(ws.work_dir().join("groups.tfquery.hcl")).expect("query file");
    // The configuration matches what was found: the only changes are the cluster-autoscaler
    // tags this provider adds to every group (as after any import).
    let p = plan(&ws);
    let text = p.text();
    assert!(
        text.contains("2 to import, 0 to add, 2 to change, 0 to destroy"),
        "generated:\n{generated}\nplan:\n{text}"
    );
    let changed: Vec<&str> = text
        .lines()
        .map(str::trim_start)
        .filter(|l| {
            l.starts_with("~ ")
                && !l.starts_with("~ resource")
                && !l.starts_with("~ update in-place")
        })
        .filter_map(|l| l[2..].split_whitespace().next())
        .collect();
    assert!(
        changed
            .iter()
            .all(|a| ["autoscaler_tags", "current_desired_size", "status"].contains(a)),
        "only the autoscaler tags change: {changed:?}\n{text}"
    );
    let out = apply(&ws);
    assert!(
        out.text()
            .contains("2 imported, 0 added, 2 changed, 0 destroyed"),
        "{}",
        out.text()
    );
    assert_no_changes(&ws);
    assert_eq!(sb.stat("eks.CreateNodegroup"), 3, "nothing created");
    assert_eq!(sb.stat("eks.DeleteNodegroup"), 0, "nothing deleted");
}

#[test]
fn a_bad_filter_fails_at_the_attribute() {
    let v = TERRAFORM_VERSIONS[0];
    let sb = Sandbox::start();
    let ws = sb.workspace(v);
    ws.write("main.tf", &provider_only());
    ws.init().assert_success();
    let query = query_file(&format!(
        "    cluster_name = \"{}\"\n    purpose      = \"gpu\"\n",
        sb.cluster()
    ));
    ws.write("groups.tfquery.hcl", &query);
    let out = ws.run(&["query", "-no-color"]);
    out.assert_failure();
    let text = out.flat();
    assert!(
        text.contains("purpose must be one of") && text.contains("spark-executor"),
        "{text}"
    );
    assert!(
        out.text().contains("groups.tfquery.hcl line 6"),
        "{}",
        out.text()
    );
}
