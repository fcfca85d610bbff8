# bi superset missing secret key
# expect: secrets.secret_key
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "superset"
  database {
    type     = "postgres"
    host     = "db.example.com"
    name     = "app"
    username = "app"
    password = "secret-pass"
  }
}
