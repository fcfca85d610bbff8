# In a .tfquery.hcl file (Terraform 1.14 and later): the BI services this provider manages in the
# cluster, for example those of another state. `terraform query -generate-config-out=generated.tf`
# writes an import block and a resource block for each.
list "dataplatform_bi_service" "all" {
  provider = dataplatform

  config {
    cluster_name = "analytics"
  }
}
