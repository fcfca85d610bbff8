# bi ingress tls_secret_name with the default (ALB) class
# expect: takes certificates from ACM, never from a Secret
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host            = "m.example.com"
    tls_secret_name = "metabase-tls"  # <-
  }
}
