# The kubernetes and helm providers configured without a token in plan or state
# (Terraform 1.10 and later). The token is signed each time a plan or apply opens it.
ephemeral "dataplatform_cluster_auth" "analytics" {
  name = "analytics"
}

provider "kubernetes" {
  host                   = ephemeral.dataplatform_cluster_auth.analytics.endpoint
  cluster_ca_certificate = ephemeral.dataplatform_cluster_auth.analytics.cluster_ca_certificate
  token                  = ephemeral.dataplatform_cluster_auth.analytics.token
}
