# provider kube host and config
# expect: not both
provider "dataplatform" {
  kubernetes {
    host        = "https://k8s.example.com"
    config_path = "~/.kube/config"  # <-
  }
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
