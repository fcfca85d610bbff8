# In a .tfquery.hcl file (Terraform 1.14 and later). `terraform query` lists the cluster's
# Spark executor groups; `terraform query -generate-config-out=generated.tf` writes an import
# block and a resource block for each, which `terraform plan` then imports (adding only the
# cluster-autoscaler tags this provider keeps on every group).
list "dataplatform_nodegroup" "spark_executors" {
  provider = dataplatform

  config {
    cluster_name = "analytics"
    purpose      = "spark-executor"
  }
}
