# bi reserved label
# expect: label
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  labels = {
    "app.kubernetes.io/name" = "x"  # <-
  }
}
