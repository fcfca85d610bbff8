# provider shared_config_files: an empty list names no file
# expect: must have between 1 and 10 elements
provider "dataplatform" {
  shared_config_files = []  # <-
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
