# bi port out of range
# expect: 65535
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  database {
    type     = "postgres"
    host     = "db.example.com"
    name     = "app"
    username = "app"
    password = "secret-pass"
    port     = 70000  # <-
  }
}
