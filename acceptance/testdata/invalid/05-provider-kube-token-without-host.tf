# provider kube token without host
# expect: needs host
provider "dataplatform" {
  kubernetes {
    token = "abc"  # <-
  }
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
