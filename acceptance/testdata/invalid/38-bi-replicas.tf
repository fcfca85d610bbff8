# bi replicas
# expect: 50
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  replicas = 100  # <-
}
