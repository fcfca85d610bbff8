# bi ingress certificate_arn and tls_secret_name
# expect: set one of them
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host            = "m.example.com"
    certificate_arn = "arn:aws:acm:eu-central-1:123456789012:certificate/0a1b2c3d"
    tls_secret_name = "metabase-tls"  # <-
  }
}
