output "spark_conf" {
  description = "Spark configuration to submit with (spark-submit --conf, Airflow's SparkSubmitOperator)."
  value       = dataplatform_spark_pool.this.spark_conf
}

output "spark_namespace" {
  description = "Namespace of the Spark jobs."
  value       = dataplatform_spark_pool.this.namespace
}

output "spark_pod_templates" {
  description = "Driver and executor pod templates (YAML), also in the ConfigMap <pool>-pod-templates."
  value = {
    driver   = dataplatform_spark_pool.this.driver_pod_template
    executor = dataplatform_spark_pool.this.executor_pod_template
  }
}

output "metabase_url" {
  description = "Where users reach Metabase."
  value       = dataplatform_bi_service.metabase.url
}

output "spark_history_url" {
  description = "Where users reach the Spark History Server; null without event logs."
  value       = dataplatform_spark_pool.this.history_server_url
}

output "metabase_load_balancer" {
  description = "The ALB's DNS name, for a Route 53 alias of the Metabase host."
  value       = dataplatform_bi_service.metabase.load_balancer_hostname
}

output "placement" {
  description = "Node selector and tolerations of each node group, for other workloads."
  value = {
    infra          = dataplatform_nodegroup.infra.placement
    spark_driver   = dataplatform_nodegroup.spark_driver.placement
    spark_executor = dataplatform_nodegroup.spark_executor.placement
  }
}

output "node_groups" {
  description = "The node groups' IDs."
  value = [
    dataplatform_nodegroup.infra.id,
    dataplatform_nodegroup.spark_driver.id,
    dataplatform_nodegroup.spark_executor.id,
  ]
}
