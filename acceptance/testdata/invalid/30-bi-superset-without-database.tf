# bi superset without database
# expect: add a database block
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "superset"  # <-
  secrets {
    secret_key = "0123456789abcdef"
  }
}
