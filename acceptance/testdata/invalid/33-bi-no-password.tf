# bi no password
# expect: password
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  database {
    type     = "postgres"
    host     = "db.example.com"
    name     = "app"
    username = "app"
  }
}
