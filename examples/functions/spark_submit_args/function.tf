# A Spark pool's configuration as spark-submit arguments, e.g. for a Kubernetes Job or an
# Airflow task that runs spark-submit itself:
#   args = concat(provider::dataplatform::spark_submit_args(dataplatform_spark_pool.etl.spark_conf),
#                 ["local:///opt/spark/jobs/etl.py"])
locals {
  spark_conf = {
    "spark.kubernetes.namespace"              = "spark-etl"
    "spark.kubernetes.driver.podTemplateFile" = "/opt/spark/conf/driver-pod-template.yaml"
    "spark.executor.memory"                   = "8g"
  }
}

output "spark_submit_args" {
  value = provider::dataplatform::spark_submit_args(local.spark_conf)
  # ["--conf", "spark.executor.memory=8g",
  #  "--conf", "spark.kubernetes.driver.podTemplateFile=/opt/spark/conf/driver-pod-template.yaml",
  #  "--conf", "spark.kubernetes.namespace=spark-etl"]
}

output "spark_submit_line" {
  value = join(" ", concat(["spark-submit"], provider::dataplatform::spark_submit_args(local.spark_conf)))
}
