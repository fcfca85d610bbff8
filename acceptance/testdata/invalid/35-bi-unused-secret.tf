# bi unused secret
# expect: does not use
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  secrets {
    cookie_secret = "0123456789abcdef"  # <-
  }
}
