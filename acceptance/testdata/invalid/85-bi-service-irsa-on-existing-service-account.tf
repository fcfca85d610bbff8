# bi service asking for IRSA on a service account it does not create
# expect: IRSA on a service account the service does not create
resource "dataplatform_bi_service" "x" {
  name   = "zeppelin"
  engine = "zeppelin"
  service_account {
    name   = "shared"
    create = false
  }
  iam {
    role_arn  = "arn:aws:iam::123456789012:role/bi"
    mechanism = "irsa"  # <-
  }
}
