# bi certificate arn
# expect: certificate ARN
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host            = "m.example.com"
    certificate_arn = "arn:aws:iam::123456789012:role/x"  # <-
  }
}
