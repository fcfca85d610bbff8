# bi name uppercase
# expect: lowercase DNS label
resource "dataplatform_bi_service" "x" {
  name   = "Metabase"  # <-
  engine = "metabase"
}
