//! `spark_submit_args(spark_conf)`: a Spark pool's `spark_conf` as `spark-submit` arguments.

use crate::framework::{Function, FunctionError, Parameter};
use crate::value::{Type, Value};

pub struct SparkSubmitArgs;

impl Function for SparkSubmitArgs {
    fn name(&self) -> &'static str {
        "spark_submit_args"
    }

    fn summary(&self) -> &'static str {
        "Spark configuration as the --conf arguments of spark-submit"
    }

    fn description(&self) -> &'static str {
        "Turns a map of Spark properties (a `dataplatform_spark_pool`'s `spark_conf`) into the \
         argument list `[\"--conf\", \"key=value\", ...]`, in key order: the arguments a job \
         launcher passes to `spark-submit` (a Kubernetes Job's `args`, the `arguments` of Airflow's \
         `KubernetesPodOperator`), or, joined with spaces, a shell line when no value holds a space. \
         Keys must be non-empty and hold no `=` or white space; values may be empty."
    }

    fn parameters(&self) -> Vec<Parameter> {
        vec![Parameter::new(
            "spark_conf",
            Type::Map(Box::new(Type::String)),
            "Spark properties, e.g. `dataplatform_spark_pool.etl.spark_conf`.",
        )]
    }

    fn return_type(&self) -> Type {
        Type::List(Box::new(Type::String))
    }

    fn call(&self, args: &[Value]) -> Result<Value, FunctionError> {
        let conf = args
            .first()
            .and_then(Value::as_map)
            .ok_or_else(|| FunctionError::argument(0, "spark_conf must be a map of strings."))?;
        let mut out = Vec::with_capacity(conf.len() * 2);
        for (key, value) in conf {
            if key.is_empty() || key.contains('=') || key.chars().any(char::is_whitespace) {
                return Err(FunctionError::argument(
                    0,
                    format!(
                        "{key:?} is not a Spark property name: it must be non-empty and hold no \
                         \"=\" or white space."
                    ),
                ));
            }
            let value = value.as_str().ok_or_else(|| {
                FunctionError::argument(0, format!("The value of {key:?} is null."))
            })?;
            out.push(Value::string("--conf"));
            out.push(Value::string(format!("{key}={value}")));
        }
        Ok(Value::list(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(entries: Vec<(&str, Value)>) -> Result<Value, FunctionError> {
        SparkSubmitArgs.call(&[Value::map(entries)])
    }

    fn strings(v: &Value) -> Vec<&str> {
        v.as_list()
            .unwrap_or_default()
            .iter()
            .filter_map(Value::as_str)
            .collect()
    }

    #[test]
    fn each_property_becomes_a_conf_pair_in_key_order() {
        let v = call(vec![
            ("spark.kubernetes.namespace", Value::string("spark")),
            ("spark.executor.memory", Value::string("8g")),
            (
                "spark.executor.extraJavaOptions",
                Value::string("-Da=b -Dc=d"),
            ),
        ])
        .expect("args");
        assert_eq!(
            strings(&v),
            [
                "--conf",
                "spark.executor.extraJavaOptions=-Da=b -Dc=d",
                "--conf",
                "spark.executor.memory=8g",
                "--conf",
                "spark.kubernetes.namespace=spark",
            ]
        );
        assert_eq!(strings(&call(vec![]).expect("empty")), Vec::<&str>::new());
    }

    #[test]
    fn bad_keys_and_null_values_point_at_the_argument() {
        for (key, value) in [
            ("", Value::string("x")),
            ("a=b", Value::string("x")),
            ("a b", Value::string("x")),
            ("spark.app.name", Value::Null),
        ] {
            let e = call(vec![(key, value)]).expect_err(key);
            assert_eq!(e.argument, Some(0), "{e:?}");
        }
    }
}
