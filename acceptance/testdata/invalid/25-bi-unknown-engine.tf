# bi unknown engine
# expect: tableau
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "tableau"  # <-
}
