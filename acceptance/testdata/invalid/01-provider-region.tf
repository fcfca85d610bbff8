# provider region
# expect: AWS region
provider "dataplatform" {
  region = "eu central 1"  # <-
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
