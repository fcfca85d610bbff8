# provider cluster name
# expect: EKS cluster name
provider "dataplatform" {
  cluster_name = "bad name!"  # <-
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
