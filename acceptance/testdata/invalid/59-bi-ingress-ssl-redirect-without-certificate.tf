# bi ingress ssl_redirect without a certificate
# expect: set certificate_arn, or leave ssl_redirect out
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host         = "m.example.com"
    ssl_redirect = true  # <-
  }
}
