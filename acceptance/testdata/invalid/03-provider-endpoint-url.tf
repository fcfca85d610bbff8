# provider endpoint url
# expect: URL
provider "dataplatform" {
  endpoints {
    eks = "eks.local"  # <-
  }
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
