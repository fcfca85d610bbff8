# bi ingress host
# expect: host name
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  ingress {
    host = "bad host.example.com"  # <-
  }
}
