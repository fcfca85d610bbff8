# bi zeppelin with database
# expect: no application database
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "zeppelin"
  database {
    type     = "postgres"  # <-
    host     = "db.example.com"
    name     = "app"
    username = "app"
    password = "secret-pass"
  }
}
