# bi ingress global (CloudFront) web ACL
# expect: regional WAFv2 web ACL ARN
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host          = "m.example.com"
    wafv2_acl_arn = "arn:aws:wafv2:us-east-1:123456789012:global/webacl/analytics/a1b2c3d4"  # <-
  }
}
