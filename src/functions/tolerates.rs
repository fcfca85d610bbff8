//! `tolerates(placement, taints)`: whether pods with a placement may run on nodes with taints.

use crate::framework::{FromValue, Function, FunctionError, Parameter};
use crate::resources::common::{self, scheduling_type, taint_object, PlacementModel, Taint};
use crate::value::{AttributePath, Type, Value};

pub struct Tolerates;

impl Function for Tolerates {
    fn name(&self) -> &'static str {
        "tolerates"
    }

    fn summary(&self) -> &'static str {
        "Whether a placement's tolerations let its pods onto nodes with the given taints"
    }

    fn description(&self) -> &'static str {
        "True when the tolerations of `placement` (a `dataplatform_nodegroup`'s `placement`, or any \
         object with `node_selector` and `tolerations`) tolerate every `NoSchedule` and `NoExecute` \
         taint in `taints`, matched as the Kubernetes scheduler matches them; `PreferNoSchedule` \
         taints never keep pods off. Taint effects may be given in Kubernetes form (`NoSchedule`) or \
         EKS form (`NO_SCHEDULE`). Use it in a `precondition` or a `check` block to prove that \
         workloads you place yourself can land on a node group, e.g. \
         `tolerates(dataplatform_nodegroup.spark_driver.placement, \
         dataplatform_nodegroup.spark_executor.placement.taints)` is false: drivers stay off \
         the executors' spot nodes."
    }

    fn parameters(&self) -> Vec<Parameter> {
        vec![
            Parameter::new(
                "placement",
                scheduling_type(),
                "The pods' placement: `node_selector` and `tolerations` (Kubernetes form).",
            ),
            Parameter::new(
                "taints",
                Type::List(Box::new(taint_object())),
                "The nodes' taints: objects with `key`, `value` and `effect`.",
            ),
        ]
    }

    fn return_type(&self) -> Type {
        Type::Bool
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let (Some(placement), Some(taints)) = (args.first(), args.get(1)) else {
            return Err(FunctionError {
                text: "tolerates takes a placement and a list of taints.".into(),
                argument: None,
            });
        };
        let placement = PlacementModel::from_value(placement, &AttributePath::root())
            .map_err(|d| FunctionError::argument(0, d.detail))?;
        let tolerations = common::tolerations_json(&placement.tolerations.unwrap_or_default());
        let mut all = true;
        for (i, t) in taints.as_list().unwrap_or_default().iter().enumerate() {
            let taint =
                taint_of(t).map_err(|e| FunctionError::argument(1, format!("taints[{i}]: {e}")))?;
            if taint.repels() && !tolerations.iter().any(|t| common::tolerates(t, &taint)) {
                all = false;
            }
        }
        Ok(Value::bool(all))
    }
}

/// A taint object, its effect in Kubernetes form.
fn taint_of(v: &Value) -> Result<Taint, String> {
    let field = |k: &str| v.get_attr(k).and_then(Value::as_str).map(str::to_string);
    let key = field("key")
        .filter(|k| !k.is_empty())
        .ok_or("key is empty")?;
    let effect = match field("effect").as_deref() {
        Some("NoSchedule" | "NO_SCHEDULE") => "NoSchedule",
        Some("NoExecute" | "NO_EXECUTE") => "NoExecute",
        Some("PreferNoSchedule" | "PREFER_NO_SCHEDULE") => "PreferNoSchedule",
        other => {
            return Err(format!(
                "effect {:?} is none of NoSchedule, PreferNoSchedule, NoExecute (or their EKS \
                 forms NO_SCHEDULE, PREFER_NO_SCHEDULE, NO_EXECUTE).",
                other.unwrap_or("")
            ))
        }
    };
    Ok(Taint {
        key,
        value: field("value").filter(|v| !v.is_empty()),
        effect: effect.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toleration(key: &str, operator: &str, value: Option<&str>, effect: &str) -> Value {
        Value::object(vec![
            ("key", Value::string(key)),
            ("operator", Value::string(operator)),
            ("value", value.map(Value::string).unwrap_or(Value::Null)),
            ("effect", Value::string(effect)),
        ])
    }

    fn placement(tolerations: Vec<Value>) -> Value {
        Value::object(vec![
            (
                "node_selector",
                Value::map(vec![("purpose", Value::string("x"))]),
            ),
            ("tolerations", Value::list(tolerations)),
        ])
    }

    fn taint(key: &str, value: Option<&str>, effect: &str) -> Value {
        Value::object(vec![
            ("key", Value::string(key)),
            ("value", value.map(Value::string).unwrap_or(Value::Null)),
            ("effect", Value::string(effect)),
        ])
    }

    fn call(p: Value, taints: Vec<Value>) -> Result<Value, FunctionError> {
        Tolerates.call(&[p, Value::list(taints)])
    }

    #[test]
    fn every_repelling_taint_must_be_tolerated() {
        let executor = taint("purpose", Some("spark-executor"), "NoSchedule");
        let tolerant = placement(vec![toleration(
            "purpose",
            "Equal",
            Some("spark-executor"),
            "NoSchedule",
        )]);
        assert_eq!(
            call(tolerant.clone(), vec![executor.clone()]),
            Ok(Value::bool(true))
        );
        assert_eq!(
            call(placement(vec![]), vec![executor.clone()]),
            Ok(Value::bool(false))
        );
        // EKS form, as a node group's own `taint` blocks spell it.
        let eks = taint("purpose", Some("spark-executor"), "NO_SCHEDULE");
        assert_eq!(call(tolerant.clone(), vec![eks]), Ok(Value::bool(true)));
        // PreferNoSchedule never keeps pods off; no taints at all, nothing to tolerate.
        let soft = taint("gpu", None, "PreferNoSchedule");
        assert_eq!(call(placement(vec![]), vec![soft]), Ok(Value::bool(true)));
        assert_eq!(call(placement(vec![]), vec![]), Ok(Value::bool(true)));
        // One of two tolerated is not enough.
        let gpu = taint("gpu", None, "NoExecute");
        assert_eq!(call(tolerant, vec![executor, gpu]), Ok(Value::bool(false)));
    }

    #[test]
    fn a_bad_taint_points_at_the_taints_argument() {
        let e = call(placement(vec![]), vec![taint("purpose", None, "Sometimes")])
            .expect_err("bad effect");
        assert_eq!(e.argument, Some(1));
        assert!(
            e.text.starts_with("taints[0]: effect \"Sometimes\""),
            "{}",
            e.text
        );
        let e = call(placement(vec![]), vec![taint("", None, "NoSchedule")]).expect_err("no key");
        assert_eq!(e.argument, Some(1));
    }
}
