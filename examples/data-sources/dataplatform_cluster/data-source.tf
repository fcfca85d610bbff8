# Connection details for other Kubernetes tooling, e.g. the kubernetes or helm providers
# (host, cluster_ca_certificate, token). The provider's own resources connect by themselves.
data "dataplatform_cluster" "analytics" {
  name = "analytics"
}

output "endpoint" {
  value = data.dataplatform_cluster.analytics.endpoint
}

output "oidc_issuer" {
  value = data.dataplatform_cluster.analytics.oidc_issuer
}
