# bi ingress scheme
# expect: public
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host   = "m.example.com"
    scheme = "public"  # <-
  }
}
