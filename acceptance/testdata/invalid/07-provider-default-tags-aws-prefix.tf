# provider default tags aws prefix
# expect: reserved
provider "dataplatform" {
  default_tags {
    tags = {
      "aws:owner" = "me"
    }
  }
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
