//! Provider functions: `provider::dataplatform::<name>(...)` (Terraform 1.8+). Each is pure
//! and takes the values the resources already output, so HCL users need not rewrite them.

mod spark_submit_args;
mod tolerates;

use std::sync::Arc;

use crate::framework::FunctionList;

pub use spark_submit_args::SparkSubmitArgs;
pub use tolerates::Tolerates;

pub fn all() -> FunctionList {
    vec![Arc::new(SparkSubmitArgs), Arc::new(Tolerates)]
}

#[cfg(test)]
mod tests {
    use crate::framework::ProviderServer;
    use crate::provider::DataplatformProvider;
    use crate::value::Value;

    #[test]
    fn the_server_checks_arity_and_known_arguments_before_calling() {
        let server = ProviderServer::new(DataplatformProvider);
        let names: Vec<&str> = server.functions().map(|f| f.name()).collect();
        assert_eq!(names, ["spark_submit_args", "tolerates"]);
        let conf = Value::map(vec![("spark.executor.memory", Value::string("8g"))]);
        let e = server
            .call_function("spark_submit_args", &[conf.clone(), conf.clone()])
            .expect_err("two arguments");
        assert_eq!(e.argument, None);
        assert!(e.text.contains("takes 1 argument(s), got 2"), "{}", e.text);
        let e = server
            .call_function("spark_submit_args", &[Value::Unknown])
            .expect_err("unknown");
        assert_eq!(e.argument, Some(0));
        let e = server
            .call_function("no_such_function", &[])
            .expect_err("unknown function");
        assert!(e.text.contains("no function named"), "{}", e.text);
        let args = server
            .call_function("spark_submit_args", &[conf])
            .expect("call");
        assert_eq!(
            args,
            Value::list(vec![
                Value::string("--conf"),
                Value::string("spark.executor.memory=8g")
            ])
        );
    }
}
