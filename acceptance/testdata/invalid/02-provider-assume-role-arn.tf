# provider assume role arn
# expect: role
provider "dataplatform" {
  assume_role {
    role_arn = "not-an-arn"  # <-
  }
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
