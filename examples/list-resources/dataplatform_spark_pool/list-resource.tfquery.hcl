# In a .tfquery.hcl file (Terraform 1.14 and later): the Spark pools this provider manages in
# one namespace. `terraform query -generate-config-out=generated.tf` writes an import block and a
# resource block for each.
list "dataplatform_spark_pool" "etl" {
  provider = dataplatform

  config {
    cluster_name = "analytics"
    namespace    = "etl"
  }
}
