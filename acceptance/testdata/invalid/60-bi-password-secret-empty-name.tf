# bi database password from a Secret with an empty name
# expect: a Secret name
resource "dataplatform_bi_service" "x" {
  name   = "metabase"
  engine = "metabase"
  database {
    type     = "postgres"
    host     = "db.example.com"
    name     = "app"
    username = "app"
    password_secret {
      name = ""  # <-
      key  = "password"
    }
  }
}
