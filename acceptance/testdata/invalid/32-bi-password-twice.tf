# bi password twice
# expect: not both
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  database {
    type     = "postgres"
    host     = "db.example.com"
    name     = "app"
    username = "app"
    password    = "secret-pass"
    password_wo = "secret-pass"  # <-
  }
}
