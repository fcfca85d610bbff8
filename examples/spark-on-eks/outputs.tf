output "spark_conf" {
  description = "Pass as --conf to spark-submit (mount the ConfigMap prod-spark-pod-templates at the pod template dir)."
  value       = module.analytics.spark_conf
}

output "metabase_url" {
  value = module.analytics.metabase_url
}

output "placement" {
  description = "Node selector and tolerations per node group."
  value       = module.analytics.placement
}

output "spark_history_url" {
  value = module.analytics.spark_history_url
}
