# bi memory quantity
# expect: quantity
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  resources {
    memory_request = "2 GB"  # <-
  }
}
