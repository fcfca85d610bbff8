# provider kube insecure with ca
provider "dataplatform" {
  kubernetes {
    host                   = "https://k8s.example.com"
    cluster_ca_certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"
    insecure               = true  # <-
  }
}

# The provider is configured only when a resource or data source uses it.
data "dataplatform_cluster" "x" {
  name = "analytics"
}
