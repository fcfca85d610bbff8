# bi env name
# expect: environment variable name
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  env = {
    "1BAD" = "x"  # <-
  }
}
